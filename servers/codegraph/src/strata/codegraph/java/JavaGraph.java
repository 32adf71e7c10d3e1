// Strata codegraph: definitions, calls, references, imports and bases of a repository's Java files, resolved by javac
// (the JDK's own compiler, through its public tree API; run with the source launcher: `java JavaGraph.java`).
//
// Input (stdin, JSON-free): the repository root on the first line, then one repository-relative .java path per line.
// Output (stdout): JSON lines, {"java": version} first, one {"file": path, ...} record per file, then {"done": true}.
// Ids follow the tree-sitter path: "<path>:<Outer.Inner>", "<path>:<Class.method>" (a constructor is
// "<Class>.constructor", an overload "@<line>"); a call's target is the method javac resolves it to: a project
// definition, "<lib>:<qualified class>.<method>" for a library method, "<unresolved>:<callee as spelled>" when javac
// knows none (a class missing from this machine). `new C()` of a class with no constructor declared calls C.
import com.sun.source.tree.*;
import com.sun.source.util.*;
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;
import javax.lang.model.element.*;
import javax.lang.model.util.Elements;
import javax.tools.*;

public class JavaGraph {
    static final IdentityHashMap<Tree, String> defOf = new IdentityHashMap<>();
    static final Map<String, String> fileOfClass = new HashMap<>(); // qualified class name -> repository path
    static Trees trees;
    static Elements elements;
    static SourcePositions positions;
    static final PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);

    public static void main(String[] args) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        Path root = Paths.get(in.readLine()).toAbsolutePath().normalize();
        List<String> relative = new ArrayList<>();
        for (String line; (line = in.readLine()) != null; ) {
            if (!line.isBlank() && !line.endsWith("module-info.java")) relative.add(line.strip());
        }
        JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
        StandardJavaFileManager files = compiler.getStandardFileManager(null, null, StandardCharsets.UTF_8);
        List<File> sources = new ArrayList<>();
        for (String r : relative) sources.add(root.resolve(r).toFile());
        int[] errors = {0};
        DiagnosticListener<JavaFileObject> quiet = d -> { if (d.getKind() == Diagnostic.Kind.ERROR) errors[0]++; };
        List<String> options = List.of("-proc:none", "-nowarn", "-Xlint:none", "-implicit:none",
            "-XDshould-stop.ifError=FLOW", "-XDshould-stop.at=FLOW", "-Xmaxerrs", "0");
        JavacTask task = (JavacTask) compiler.getTask(Writer.nullWriter(), files, quiet, options, null,
            files.getJavaFileObjectsFromFiles(sources));
        trees = Trees.instance(task);
        elements = task.getElements();
        positions = trees.getSourcePositions();
        List<CompilationUnitTree> units = new ArrayList<>();
        for (CompilationUnitTree unit : task.parse()) units.add(unit);
        task.analyze();
        out.println("{\"java\":" + quote(System.getProperty("java.version")) + "}");
        Map<CompilationUnitTree, String> pathOf = new IdentityHashMap<>();
        Map<CompilationUnitTree, List<String>> definitions = new IdentityHashMap<>();
        for (CompilationUnitTree unit : units) {
            String rel = root.relativize(Paths.get(unit.getSourceFile().toUri()).normalize()).toString().replace('\\', '/');
            pathOf.put(unit, rel);
            try {
                definitions.put(unit, collect(unit, rel));
            } catch (StackOverflowError | RuntimeException error) {
                System.err.println("JavaGraph: " + rel + ": " + error);
                definitions.put(unit, new ArrayList<>());
            }
        }
        for (CompilationUnitTree unit : units) {
            try {
                resolve(unit, pathOf.get(unit), definitions.get(unit));
            } catch (StackOverflowError | RuntimeException error) { // one file too deep to walk loses its edges only
                System.err.println("JavaGraph: " + pathOf.get(unit) + ": " + error);
                out.println("{\"file\":" + quote(pathOf.get(unit)) + ",\"language\":\"java\",\"definitions\":["
                    + String.join(",", definitions.get(unit)) + "],\"calls\":[],\"references\":[],\"imports\":[],\"bases\":[]}");
            }
        }
        out.println("{\"done\":true,\"errors\":" + errors[0] + "}");
        out.flush();
    }

    static long line(CompilationUnitTree unit, Tree tree) {
        long start = positions.getStartPosition(unit, tree);
        return start < 0 ? 0 : unit.getLineMap().getLineNumber(start);
    }

    static long endLine(CompilationUnitTree unit, Tree tree) {
        long end = positions.getEndPosition(unit, tree);
        return end < 0 ? line(unit, tree) : unit.getLineMap().getLineNumber(end);
    }

    // definitions: classes, interfaces, enums, records, annotations, methods and constructors, named by their
    // enclosing classes; anonymous classes are not definitions (their code belongs to the method around them)
    static List<String> collect(CompilationUnitTree unit, String rel) {
        List<String> rows = new ArrayList<>();
        Set<String> used = new HashSet<>();
        new TreePathScanner<Void, String>() {
            String add(Tree tree, String qualified, String name, String kind) {
                String id = rel + ":" + qualified;
                if (used.contains(id)) id = id + "@" + line(unit, tree);
                used.add(id);
                defOf.put(tree, id);
                rows.add("[" + quote(id) + "," + quote(name) + "," + quote(kind) + "," + line(unit, tree) + ","
                    + endLine(unit, tree) + "]");
                return id;
            }

            @Override
            public Void visitClass(ClassTree tree, String qualifier) {
                String name = tree.getSimpleName().toString();
                if (name.isEmpty()) return super.visitClass(tree, qualifier + ".<anonymous>");
                String qualified = qualifier.isEmpty() ? name : qualifier + "." + name;
                Tree.Kind k = tree.getKind();
                add(tree, qualified, name, k == Tree.Kind.INTERFACE || k == Tree.Kind.ANNOTATION_TYPE ? "interface" : "class");
                Element element = trees.getElement(getCurrentPath());
                if (element instanceof TypeElement type) fileOfClass.put(type.getQualifiedName().toString(), rel);
                return super.visitClass(tree, qualified);
            }

            @Override
            public Void visitMethod(MethodTree tree, String qualifier) {
                Element element = trees.getElement(getCurrentPath());
                if (element != null && elements.getOrigin(element) == Elements.Origin.MANDATED) return null;
                if (qualifier.contains("<anonymous>")) return super.visitMethod(tree, qualifier);
                boolean constructor = tree.getName().contentEquals("<init>");
                String name = constructor ? "constructor" : tree.getName().toString();
                add(tree, qualifier + "." + name, name, "method");
                return super.visitMethod(tree, qualifier + "." + name);
            }
        }.scan(new TreePath(unit), "");
        return rows;
    }

    static String target(Element element) {
        if (element == null) return null;
        Tree tree = trees.getTree(element);
        if (tree != null && defOf.containsKey(tree)) return defOf.get(tree);
        if (element instanceof ExecutableElement method && elements.getOrigin(method) == Elements.Origin.MANDATED) {
            return target(method.getEnclosingElement()); // the implicit constructor: the class
        }
        if (element instanceof TypeElement type) {
            return "<lib>:" + type.getQualifiedName();
        }
        Element owner = element.getEnclosingElement();
        String name = element.getKind() == ElementKind.CONSTRUCTOR ? "constructor" : element.getSimpleName().toString();
        if (owner instanceof TypeElement type) return "<lib>:" + type.getQualifiedName() + "." + name;
        return null;
    }

    static void resolve(CompilationUnitTree unit, String rel, List<String> definitions) {
        Set<String> calls = new LinkedHashSet<>(), refs = new LinkedHashSet<>(), imports = new LinkedHashSet<>();
        List<String> bases = new ArrayList<>();
        for (ImportTree imp : unit.getImports()) {
            String name = imp.getQualifiedIdentifier().toString();
            String stem = name.endsWith(".*") ? name.substring(0, name.length() - 2) : name;
            if (imp.isStatic()) stem = stem.substring(0, Math.max(0, stem.lastIndexOf('.')));
            String file = fileOfClass.get(stem);
            String to = file != null ? file : "<lib>:" + name;
            if (!to.equals(rel)) imports.add(triple(rel, to, line(unit, imp)));
        }
        new TreePathScanner<Void, String>() {
            void call(Tree at, String caller, Element element, ExpressionTree spelledTree) {
                String to = target(element);
                if (to == null || element.asType().getKind() == javax.lang.model.type.TypeKind.ERROR) {
                    String text = spelledTree.toString().replaceAll("\\s+", " ");
                    to = "<unresolved>:" + (text.length() > 80 ? text.substring(0, 80) + "…" : text);
                }
                calls.add(triple(caller, to, line(unit, at)));
            }

            String owner(String caller) {
                return caller == null ? rel : caller;
            }

            @Override
            public Void visitClass(ClassTree tree, String caller) {
                String id = defOf.get(tree);
                if (id != null) {
                    int position = 0;
                    List<Tree> supers = new ArrayList<>();
                    if (tree.getExtendsClause() != null) supers.add(tree.getExtendsClause());
                    supers.addAll(tree.getImplementsClause());
                    for (Tree base : supers) {
                        Element element = trees.getElement(new TreePath(getCurrentPath(), base));
                        String to = element instanceof TypeElement ? target(element) : null;
                        if (to == null) to = "<unresolved>:" + base.toString();
                        bases.add(triple(id, to, position++));
                    }
                }
                return super.visitClass(tree, id != null ? id : caller);
            }

            @Override
            public Void visitMethod(MethodTree tree, String caller) {
                String id = defOf.get(tree);
                return super.visitMethod(tree, id != null ? id : caller);
            }

            @Override
            public Void visitMethodInvocation(MethodInvocationTree tree, String caller) {
                call(tree, owner(caller), trees.getElement(getCurrentPath()), tree.getMethodSelect());
                return super.visitMethodInvocation(tree, caller);
            }

            @Override
            public Void visitNewClass(NewClassTree tree, String caller) {
                call(tree, owner(caller), trees.getElement(getCurrentPath()), tree.getIdentifier());
                return super.visitNewClass(tree, caller);
            }

            @Override
            public Void visitMemberReference(MemberReferenceTree tree, String caller) {
                String to = target(trees.getElement(getCurrentPath()));
                if (to != null && !to.startsWith("<")) refs.add(triple(owner(caller), to, line(unit, tree)));
                return super.visitMemberReference(tree, caller);
            }
        }.scan(new TreePath(unit), null);
        out.println("{\"file\":" + quote(rel) + ",\"language\":\"java\",\"definitions\":[" + String.join(",", definitions)
            + "],\"calls\":[" + String.join(",", calls) + "],\"references\":[" + String.join(",", refs)
            + "],\"imports\":[" + String.join(",", imports) + "],\"bases\":[" + String.join(",", bases) + "]}");
    }

    static String triple(String from, String to, long value) {
        return "[" + quote(from) + "," + quote(to) + "," + value + "]";
    }

    static String quote(String text) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }
}
