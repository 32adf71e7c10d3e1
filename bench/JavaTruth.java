// Compiler truth for Java call graphs: for every method call and `new` in the given files, the method (or constructor)
// javac attributes it to, through the JDK's public tree API. Independent of Strata's engine.
//
// usage: java JavaTruth.java <root> < list of repository-relative .java paths
// Output (stdout, JSON): {"definitions": [[file, name, kind, start, end]], "sites": [[file, line, caller, callee, name]]}
// caller/callee: [file, name, start line] of a method ("constructor" for constructors) or class, [file, "<module>", 0]
// outside any class; callee "<lib>" outside the files, null when javac knows none; name is what the call spells.
import com.sun.source.tree.*;
import com.sun.source.util.*;
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;
import javax.lang.model.element.*;
import javax.lang.model.type.TypeKind;
import javax.lang.model.util.Elements;
import javax.tools.*;

public class JavaTruth {
    public static void main(String[] args) throws IOException {
        Path root = Paths.get(args[0]).toAbsolutePath().normalize();
        List<File> sources = new ArrayList<>();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            if (!line.isBlank() && !line.endsWith("module-info.java")) sources.add(root.resolve(line.strip()).toFile());
        }
        JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
        StandardJavaFileManager files = compiler.getStandardFileManager(null, null, StandardCharsets.UTF_8);
        JavacTask task = (JavacTask) compiler.getTask(Writer.nullWriter(), files, d -> {},
            List.of("-proc:none", "-XDshould-stop.ifError=FLOW", "-Xmaxerrs", "0"), null,
            files.getJavaFileObjectsFromFiles(sources));
        Trees trees = Trees.instance(task);
        Elements elements = task.getElements();
        SourcePositions positions = trees.getSourcePositions();
        List<CompilationUnitTree> units = new ArrayList<>();
        task.parse().forEach(units::add);
        task.analyze();
        Map<Tree, String> keyOf = new IdentityHashMap<>();
        Map<Tree, CompilationUnitTree> unitOf = new IdentityHashMap<>();
        List<String> definitions = new ArrayList<>();
        List<String> sites = new ArrayList<>();
        Map<CompilationUnitTree, String> rel = new IdentityHashMap<>();
        for (CompilationUnitTree unit : units) {
            rel.put(unit, root.relativize(Paths.get(unit.getSourceFile().toUri()).normalize()).toString());
        }
        java.util.function.BiFunction<CompilationUnitTree, Tree, Long> lineOf = (unit, tree) ->
            unit.getLineMap().getLineNumber(Math.max(0, positions.getStartPosition(unit, tree)));
        for (CompilationUnitTree unit : units) {
            new TreePathScanner<Void, Void>() {
                void define(Tree tree, String name, String kind) {
                    String file = rel.get(unit);
                    long start = lineOf.apply(unit, tree);
                    long end = unit.getLineMap().getLineNumber(Math.max(0, positions.getEndPosition(unit, tree)));
                    keyOf.put(tree, "[" + q(file) + "," + q(name) + "," + start + "]");
                    definitions.add("[" + q(file) + "," + q(name) + "," + q(kind) + "," + start + "," + end + "]");
                }

                @Override
                public Void visitClass(ClassTree tree, Void v) {
                    if (tree.getSimpleName().length() > 0) define(tree, tree.getSimpleName().toString(), "class");
                    return super.visitClass(tree, v);
                }

                @Override
                public Void visitMethod(MethodTree tree, Void v) {
                    Element element = trees.getElement(getCurrentPath());
                    if (element != null && elements.getOrigin(element) == Elements.Origin.MANDATED) return null;
                    define(tree, tree.getName().contentEquals("<init>") ? "constructor" : tree.getName().toString(), "function");
                    return super.visitMethod(tree, v);
                }
            }.scan(new TreePath(unit), null);
        }
        for (CompilationUnitTree unit : units) {
            new TreePathScanner<Void, Void>() {
                String callee(Element element) {
                    if (element == null || element.asType().getKind() == TypeKind.ERROR) return "null";
                    if (element instanceof ExecutableElement && elements.getOrigin(element) == Elements.Origin.MANDATED) {
                        element = element.getEnclosingElement();
                    }
                    Tree tree = trees.getTree(element);
                    return tree != null && keyOf.containsKey(tree) ? keyOf.get(tree) : q("<lib>");
                }

                String caller() {
                    for (TreePath p = getCurrentPath(); p != null; p = p.getParentPath()) {
                        Tree t = p.getLeaf();
                        if (t instanceof MethodTree && keyOf.containsKey(t)) {
                            boolean anonymous = false;
                            for (TreePath up = p.getParentPath(); up != null; up = up.getParentPath()) {
                                if (up.getLeaf() instanceof ClassTree c) {
                                    anonymous = c.getSimpleName().length() == 0;
                                    break;
                                }
                            }
                            if (!anonymous) return keyOf.get(t);
                        }
                        if (t instanceof ClassTree c && c.getSimpleName().length() > 0) return keyOf.get(t);
                    }
                    return "[" + q(rel.get(unit)) + ",\"<module>\",0]";
                }

                void site(Tree tree, ExpressionTree spelled) {
                    String name = spelled instanceof MemberSelectTree m ? m.getIdentifier().toString()
                        : spelled instanceof IdentifierTree i ? i.getName().toString() : spelled.toString();
                    sites.add("[" + q(rel.get(unit)) + "," + lineOf.apply(unit, tree) + "," + caller() + ","
                        + callee(trees.getElement(getCurrentPath())) + "," + q(name) + "]");
                }

                @Override
                public Void visitMethodInvocation(MethodInvocationTree tree, Void v) {
                    site(tree, tree.getMethodSelect());
                    return super.visitMethodInvocation(tree, v);
                }

                @Override
                public Void visitNewClass(NewClassTree tree, Void v) {
                    site(tree, tree.getIdentifier());
                    return super.visitNewClass(tree, v);
                }
            }.scan(new TreePath(unit), null);
        }
        System.out.println("{\"definitions\":[" + String.join(",", definitions) + "],\"sites\":[" + String.join(",", sites) + "]}");
    }

    static String q(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
