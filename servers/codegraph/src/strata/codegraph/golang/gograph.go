// Strata codegraph: definitions, calls, imports and embedded types of a repository's Go files, resolved by go/types
// (the Go toolchain's own type checker; standard library only, run with `go run`).
//
// Input (stdin, JSON): {"root": directory, "files": [repository-relative paths]}
// Output (stdout): JSON lines, {"go": version} first, one {"file": path, ...} record per file, then {"done": true}.
// Ids follow the tree-sitter path: "<path>:<Func>", "<path>:<Type>.<Method>", "<path>:<Type>"; a call's target is
// the function go/types resolves it to: a project definition, "<lib>:<import path>.<[Type.]Name>" for a library
// function, "<lib>:builtin.<name>" for a builtin, "<unresolved>:<callee as spelled>" for a func value or a name
// go/types could not check (a package that is not on this machine). Conversions are not calls.
// Nothing is fetched and no go.mod is rewritten: GOPROXY=off and GOFLAGS=-mod=readonly are set by the caller.
package main

import (
	"bufio"
	"encoding/json"
	"go/ast"
	"go/build"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

type request struct {
	Root  string   `json:"root"`
	Files []string `json:"files"`
}

type record struct {
	File        string          `json:"file"`
	Language    string          `json:"language"`
	Definitions [][]interface{} `json:"definitions"`
	Calls       [][]interface{} `json:"calls"`
	References  [][]interface{} `json:"references"`
	Imports     [][]interface{} `json:"imports"`
	Bases       [][]interface{} `json:"bases"`
	Errors      int             `json:"errors"`
}

type pkg struct {
	dir   string // repository-relative
	path  string // import path
	files []*ast.File
	names []string // repository-relative file of each of files
	types *types.Package
	info  *types.Info
	busy  bool
}

var (
	fset     = token.NewFileSet()
	root     string
	out      = bufio.NewWriterSize(os.Stdout, 1<<16)
	byDir    = map[string]map[string]*pkg{} // dir -> package name -> package
	byPath   = map[string]*pkg{}            // import path -> the directory's main (non-_test) package
	fallback types.Importer
	defAt    = map[token.Pos]string{} // a defining identifier's position -> definition id
	typeAt   = map[*types.TypeName]string{}
	module   string // go.mod's module path, or the GOPATH import path of the root
)

func emit(v interface{}) {
	data, _ := json.Marshal(v)
	out.Write(data)
	out.WriteByte('\n')
}

func main() {
	var req request
	if err := json.NewDecoder(bufio.NewReader(os.Stdin)).Decode(&req); err != nil {
		os.Stderr.WriteString("bad request: " + err.Error() + "\n")
		os.Exit(2)
	}
	root, _ = filepath.Abs(req.Root)
	module = modulePath(root)
	build.Default.Dir = root // the source importer asks `go list` in the repository's module
	fallback = importer.ForCompiler(fset, "source", nil)
	emit(map[string]interface{}{"go": runtime.Version(), "module": module})
	sort.Strings(req.Files)
	for _, rel := range req.Files {
		file, err := parser.ParseFile(fset, filepath.Join(root, rel), nil, parser.SkipObjectResolution)
		if file == nil {
			continue
		}
		_ = err // a file with syntax errors keeps what parsed
		dir := filepath.ToSlash(filepath.Dir(rel))
		name := file.Name.Name
		if byDir[dir] == nil {
			byDir[dir] = map[string]*pkg{}
		}
		p := byDir[dir][name]
		if p == nil {
			p = &pkg{dir: dir, path: importPath(dir)}
			byDir[dir][name] = p
			if !strings.HasSuffix(name, "_test") && (byPath[p.path] == nil || name != "main") {
				byPath[p.path] = p
			}
		}
		p.files = append(p.files, file)
		p.names = append(p.names, rel)
	}
	var all []*pkg
	for _, names := range byDir {
		for _, p := range names {
			all = append(all, p)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].dir+all[i].path < all[j].dir+all[j].path })
	for _, p := range all {
		collectDefinitions(p)
	}
	for _, p := range all {
		check(p)
	}
	for _, p := range all {
		for i, file := range p.files {
			emit(resolveFile(p, file, p.names[i]))
		}
	}
	emit(map[string]interface{}{"done": true})
	out.Flush()
}

var moduleLine = regexp.MustCompile(`(?m)^\s*module\s+(\S+)`)

func modulePath(dir string) string {
	if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
		if m := moduleLine.FindSubmatch(data); m != nil {
			return strings.Trim(string(m[1]), `"`)
		}
	}
	slashed := filepath.ToSlash(dir)
	if at := strings.LastIndex(slashed, "/src/"); at >= 0 {
		return slashed[at+len("/src/"):]
	}
	return filepath.Base(dir)
}

// the import path of a repository directory: from the nearest go.mod at or above it (inside the repository),
// else from the root's GOPATH location
func importPath(dir string) string {
	for d := dir; ; d = filepath.ToSlash(filepath.Dir(d)) {
		if modules[d] == "" {
			modules[d] = "-"
			if data, err := os.ReadFile(filepath.Join(root, d, "go.mod")); err == nil {
				if m := moduleLine.FindSubmatch(data); m != nil {
					modules[d] = strings.Trim(string(m[1]), `"`)
				}
			}
		}
		if m := modules[d]; m != "-" {
			return join(m, strings.TrimPrefix(strings.TrimPrefix(dir, d), "/"))
		}
		if d == "." || d == "/" || d == "" {
			break
		}
	}
	return join(module, dir)
}

func join(base, dir string) string {
	if dir == "." || dir == "" {
		return base
	}
	return base + "/" + dir
}

var modules = map[string]string{} // repository directory -> its go.mod's module path, "-" for none

// importer: the repository's own packages type-checked here, the rest from source (GOROOT, GOPATH, module cache),
// and a package nothing can be found for is an empty one (its uses stay unresolved).
type projectImporter struct{}

func (projectImporter) Import(path string) (*types.Package, error) {
	if p := byPath[path]; p != nil && !p.busy {
		check(p)
		return p.types, nil
	}
	if found, err := fallback.Import(path); err == nil {
		return found, nil
	}
	name := path[strings.LastIndex(path, "/")+1:]
	empty := types.NewPackage(path, strings.ReplaceAll(name, "-", "_"))
	empty.MarkComplete()
	return empty, nil
}

func check(p *pkg) {
	if p.types != nil || p.busy {
		return
	}
	p.busy = true
	p.info = &types.Info{
		Uses:       map[*ast.Ident]types.Object{},
		Defs:       map[*ast.Ident]types.Object{},
		Selections: map[*ast.SelectorExpr]*types.Selection{},
		Types:      map[ast.Expr]types.TypeAndValue{},
	}
	config := types.Config{Importer: projectImporter{}, Error: func(error) {}, FakeImportC: true}
	name := p.files[0].Name.Name
	p.types, _ = config.Check(p.path, fset, p.files, p.info)
	if p.types == nil {
		p.types = types.NewPackage(p.path, name)
	}
	p.busy = false
	for ident, obj := range p.info.Defs {
		if tn, ok := obj.(*types.TypeName); ok {
			if id, ok := defAt[ident.Pos()]; ok {
				typeAt[tn] = id
			}
		}
	}
}

func line(pos token.Pos) int { return fset.Position(pos).Line }

// definitions: functions, methods (by receiver type), types and interface methods, with the tree-sitter path's ids
func collectDefinitions(p *pkg) {
	for i, file := range p.files {
		rel := p.names[i]
		used := map[string]bool{}
		add := func(ident *ast.Ident, qualified, kind string, node ast.Node) []interface{} {
			id := rel + ":" + qualified
			if used[id] {
				id = id + "@" + itoa(line(node.Pos()))
			}
			used[id] = true
			defAt[ident.Pos()] = id
			return []interface{}{id, ident.Name, kind, line(node.Pos()), line(node.End())}
		}
		rows := [][]interface{}{}
		for _, decl := range file.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if d.Recv != nil && len(d.Recv.List) > 0 {
					rows = append(rows, add(d.Name, receiverName(d.Recv.List[0].Type)+"."+d.Name.Name, "method", d))
				} else {
					rows = append(rows, add(d.Name, d.Name.Name, "function", d))
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					ts, ok := spec.(*ast.TypeSpec)
					if !ok {
						continue
					}
					node := ast.Node(ts)
					if len(d.Specs) == 1 {
						node = d
					}
					if it, ok := ts.Type.(*ast.InterfaceType); ok {
						rows = append(rows, add(ts.Name, ts.Name.Name, "interface", node))
						for _, m := range it.Methods.List {
							if _, isFunc := m.Type.(*ast.FuncType); !isFunc {
								continue
							}
							for _, n := range m.Names {
								rows = append(rows, add(n, ts.Name.Name+"."+n.Name, "method", m))
							}
						}
					} else {
						rows = append(rows, add(ts.Name, ts.Name.Name, "class", node))
					}
				}
			}
		}
		definitionsOf[rel] = rows
	}
}

var definitionsOf = map[string][][]interface{}{}

func receiverName(expr ast.Expr) string {
	for {
		switch e := expr.(type) {
		case *ast.StarExpr:
			expr = e.X
		case *ast.ParenExpr:
			expr = e.X
		case *ast.IndexExpr:
			expr = e.X
		case *ast.IndexListExpr:
			expr = e.X
		case *ast.Ident:
			return e.Name
		default:
			return "?"
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// a function object's target id
func target(obj types.Object) string {
	if id, ok := defAt[obj.Pos()]; ok && obj.Pos().IsValid() {
		return id
	}
	switch o := obj.(type) {
	case *types.Builtin:
		return "<lib>:builtin." + o.Name()
	case *types.Func:
		name := o.Name()
		if sig, ok := o.Type().(*types.Signature); ok && sig.Recv() != nil {
			name = receiverTypeName(sig.Recv().Type()) + "." + name
		}
		if o.Pkg() == nil {
			return "<lib>:builtin." + name // error.Error
		}
		return "<lib>:" + o.Pkg().Path() + "." + name
	}
	return ""
}

func receiverTypeName(t types.Type) string {
	for {
		switch x := t.(type) {
		case *types.Pointer:
			t = x.Elem()
		case *types.Named:
			return x.Obj().Name()
		default:
			return strings.TrimPrefix(types.TypeString(t, func(*types.Package) string { return "" }), "*")
		}
	}
}

func resolveFile(p *pkg, file *ast.File, rel string) record {
	rec := record{File: rel, Language: "go", Definitions: definitionsOf[rel], Calls: [][]interface{}{},
		References: [][]interface{}{}, Imports: [][]interface{}{}, Bases: [][]interface{}{}}
	seen := map[string]bool{}
	add := func(rows *[][]interface{}, from, to string, at int) {
		key := from + "\x00" + to + "\x00" + itoa(at)
		if !seen[key] {
			seen[key] = true
			*rows = append(*rows, []interface{}{from, to, at})
		}
	}
	for _, spec := range file.Imports {
		path := strings.Trim(spec.Path.Value, "\"`")
		at := line(spec.Pos())
		if q := byPath[path]; q != nil {
			for _, name := range q.names {
				if name != rel {
					add(&rec.Imports, rel, name, at)
				}
			}
		} else {
			add(&rec.Imports, rel, "<lib>:"+path, at)
		}
	}
	info := p.info
	var stack []string
	var visit func(n ast.Node) bool
	visit = func(n ast.Node) bool {
		switch node := n.(type) {
		case *ast.FuncDecl:
			stack = append(stack, defAt[node.Name.Pos()])
			if node.Body != nil {
				ast.Inspect(node.Body, visit)
			}
			stack = stack[:len(stack)-1]
			return false
		case *ast.TypeSpec:
			owner := defAt[node.Name.Pos()]
			var fields *ast.FieldList
			switch t := node.Type.(type) {
			case *ast.StructType:
				fields = t.Fields
			case *ast.InterfaceType:
				fields = t.Methods
			}
			if fields != nil {
				position := 0
				for _, field := range fields.List {
					if len(field.Names) > 0 {
						continue
					}
					if tv, ok := info.Types[field.Type]; ok && tv.Type != nil {
						if named, ok := derefNamed(tv.Type); ok {
							base := typeAt[named.Obj()]
							if base == "" && named.Obj().Pkg() != nil {
								base = "<lib>:" + named.Obj().Pkg().Path() + "." + named.Obj().Name()
							}
							if base != "" && base != owner {
								rec.Bases = append(rec.Bases, []interface{}{owner, base, position})
								position++
							}
						}
					}
				}
			}
		case *ast.CallExpr:
			caller := rel
			if len(stack) > 0 && stack[len(stack)-1] != "" {
				caller = stack[len(stack)-1]
			}
			at := line(node.Pos())
			if tv, ok := info.Types[node.Fun]; ok && tv.IsType() {
				return true // a conversion
			}
			ident := calledIdent(node.Fun)
			if ident == nil {
				add(&rec.Calls, caller, "<unresolved>:"+spelled(node.Fun), at)
				return true
			}
			obj := info.Uses[ident]
			switch o := obj.(type) {
			case *types.Func, *types.Builtin:
				if id := target(o); id != "" {
					add(&rec.Calls, caller, id, at)
				}
			case *types.TypeName:
				// a conversion through a name go/types saw as a type
			default:
				add(&rec.Calls, caller, "<unresolved>:"+spelled(node.Fun), at)
			}
		case *ast.Ident:
			// a project function used as a value (a handler, a callback): a reference
			if fn, ok := info.Uses[node].(*types.Func); ok && len(stack) > 0 {
				if id, ok := defAt[fn.Pos()]; ok && id != stack[len(stack)-1] && !calledAt[node.Pos()] {
					add(&rec.References, stack[len(stack)-1], id, line(node.Pos()))
				}
			}
		}
		return true
	}
	ast.Inspect(file, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok {
			if ident := calledIdent(call.Fun); ident != nil {
				calledAt[ident.Pos()] = true
			}
		}
		return true
	})
	for _, decl := range file.Decls {
		ast.Inspect(decl, visit)
	}
	return rec
}

var (
	calledAt = map[token.Pos]bool{}
	sources  = map[string][]byte{}
)

func derefNamed(t types.Type) (*types.Named, bool) {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	named, ok := t.(*types.Named)
	return named, ok
}

func calledIdent(fun ast.Expr) *ast.Ident {
	for {
		switch f := fun.(type) {
		case *ast.ParenExpr:
			fun = f.X
		case *ast.Ident:
			return f
		case *ast.SelectorExpr:
			return f.Sel
		case *ast.IndexExpr:
			fun = f.X
		case *ast.IndexListExpr:
			fun = f.X
		default:
			return nil
		}
	}
}

func spelled(expr ast.Expr) string {
	start, end := fset.Position(expr.Pos()), fset.Position(expr.End())
	data, ok := sources[start.Filename]
	if !ok {
		data, _ = os.ReadFile(start.Filename)
		sources[start.Filename] = data
	}
	if end.Offset > len(data) || start.Offset > end.Offset {
		return "?"
	}
	text := strings.Join(strings.Fields(string(data[start.Offset:end.Offset])), " ")
	if len(text) > 80 {
		text = text[:80] + "…"
	}
	return text
}
