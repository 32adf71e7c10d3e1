// Compiler truth for Go call graphs: for every call in the packages under a directory, the function or method
// go/types resolves it to (the Go toolchain's own type checker, standard library only).
//
// usage: GOPATH=<gopath> GO111MODULE=off go run go_truth.go <package directory>
// Output (stdout, JSON): {"definitions": [[file, name, kind, start, end]], "sites": [[file, line, caller, callee, name]]}
// with files relative to the directory; caller and callee are [file, name, start line] of a function, a method or
// an interface method ([file, "<module>", 0] outside any function), callee "<lib>" for a function outside the
// directory, "<anonymous>" for a call of a func value and null when go/types knows no function (a conversion, a
// builtin, a type it could not check); name is what the call spells (`a.b.F()`: "F").
package main

import (
	"encoding/json"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type key = []interface{}

func main() {
	root, _ := filepath.Abs(os.Args[1])
	fset := token.NewFileSet()
	dirs := map[string][]string{}
	filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && strings.HasSuffix(path, ".go") {
			dirs[filepath.Dir(path)] = append(dirs[filepath.Dir(path)], path)
		}
		return nil
	})
	rel := func(pos token.Pos) (string, int, bool) {
		p := fset.Position(pos)
		r, err := filepath.Rel(root, p.Filename)
		if err != nil || strings.HasPrefix(r, "..") {
			return "", 0, false
		}
		return r, p.Line, true
	}
	definitions := [][]interface{}{}
	sites := [][]interface{}{}
	imp := importer.ForCompiler(fset, "source", nil)
	names := make([]string, 0, len(dirs))
	for d := range dirs {
		names = append(names, d)
	}
	sort.Strings(names)
	for _, dir := range names {
		byPackage := map[string][]*ast.File{}
		for _, path := range dirs[dir] {
			file, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
			if err != nil {
				continue
			}
			byPackage[file.Name.Name] = append(byPackage[file.Name.Name], file)
		}
		for name, files := range byPackage {
			info := &types.Info{Uses: map[*ast.Ident]types.Object{}, Selections: map[*ast.SelectorExpr]*types.Selection{},
				Defs: map[*ast.Ident]types.Object{}}
			config := types.Config{Importer: imp, Error: func(error) {}}
			config.Check(name, fset, files, info)
			for _, file := range files {
				collect(file, info, rel, &definitions, &sites)
			}
		}
	}
	json.NewEncoder(os.Stdout).Encode(map[string]interface{}{"definitions": definitions, "sites": sites})
}

func collect(file *ast.File, info *types.Info, rel func(token.Pos) (string, int, bool),
	definitions *[][]interface{}, sites *[][]interface{}) {
	where := func(pos token.Pos, name string) key {
		f, line, ok := rel(pos)
		if !ok {
			return nil
		}
		return key{f, name, line}
	}
	for _, decl := range file.Decls {
		if gen, ok := decl.(*ast.GenDecl); ok {
			for _, spec := range gen.Specs {
				if ts, ok := spec.(*ast.TypeSpec); ok {
					if it, ok := ts.Type.(*ast.InterfaceType); ok {
						for _, m := range it.Methods.List {
							for _, n := range m.Names {
								f, s, _ := rel(n.Pos())
								_, e, _ := rel(m.End())
								*definitions = append(*definitions, []interface{}{f, n.Name, "function", s, e})
							}
						}
					}
				}
			}
		}
	}
	var stack []key
	var visit func(n ast.Node) bool
	visit = func(n ast.Node) bool {
		switch node := n.(type) {
		case *ast.FuncDecl:
			f, s, _ := rel(node.Pos())
			_, e, _ := rel(node.End())
			*definitions = append(*definitions, []interface{}{f, node.Name.Name, "function", s, e})
			stack = append(stack, key{f, node.Name.Name, s})
			ast.Inspect(node.Body, visit)
			stack = stack[:len(stack)-1]
			return false
		case *ast.CallExpr:
			f, line, _ := rel(node.Pos())
			caller := key{f, "<module>", 0}
			if len(stack) > 0 {
				caller = stack[len(stack)-1]
			}
			var ident *ast.Ident
			switch fun := unparen(node.Fun).(type) {
			case *ast.Ident:
				ident = fun
			case *ast.SelectorExpr:
				ident = fun.Sel
			case *ast.IndexExpr: // generic instantiation f[T](...)
				if id, ok := fun.X.(*ast.Ident); ok {
					ident = id
				} else if sel, ok := fun.X.(*ast.SelectorExpr); ok {
					ident = sel.Sel
				}
			}
			var callee interface{}
			spelled := ""
			if ident != nil {
				spelled = ident.Name
				switch obj := info.Uses[ident].(type) {
				case *types.Func:
					if k := where(obj.Pos(), obj.Name()); k != nil {
						callee = k
					} else {
						callee = "<lib>"
					}
				case *types.Var:
					callee = "<anonymous>"
				}
			}
			*sites = append(*sites, []interface{}{f, line, caller, callee, spelled})
		}
		return true
	}
	for _, decl := range file.Decls {
		ast.Inspect(decl, visit)
	}
}

func unparen(e ast.Expr) ast.Expr {
	for {
		p, ok := e.(*ast.ParenExpr)
		if !ok {
			return e
		}
		e = p.X
	}
}
