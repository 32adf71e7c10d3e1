'use strict';
// Compiler truth for TypeScript/JavaScript call graphs: for every call `f()`, `new C()` and `super()` in the
// given files, the declaration the TypeScript checker resolves: checker.getResolvedSignature(call).declaration
// (for `new C()`/`super()` of a class with no constructor declared: the class). Independent of Strata's engine.
//
// usage: node ts_truth.cjs <typescript.js> <root> <file>... > truth.json
// Output: {"definitions": [[file, name, kind, start_line, end_line]], "sites": [[file, line, caller, callee, name]]}
// where caller and callee are [file, name, start_line] of a named definition, caller [file, "<module>", 0] at the
// top level, callee "<lib>" for a declaration outside the files, "<anonymous>" for an unnamed function and null
// when the checker resolves no declaration; name is what the call spells (`a.f()`: "f").
const path = require('path');
const [, , tsPath, rootArg, ...files] = process.argv;
const ts = require(tsPath);
const root = path.resolve(rootArg);
const absolute = new Map(files.map((f) => [path.join(root, f).split(path.sep).join('/'), f]));
const program = ts.createProgram({
  rootNames: files.map((f) => path.join(root, f)),
  options: {
    allowJs: true, noEmit: true, skipLibCheck: true, target: ts.ScriptTarget.ESNext,
    module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, jsx: ts.JsxEmit.Preserve,
    allowImportingTsExtensions: true, resolveJsonModule: true,
  },
});
const checker = program.getTypeChecker();
const rel = (sf) => absolute.get(sf.fileName.split(path.sep).join('/'));
const lineOf = (sf, pos) => sf.getLineAndCharacterOfPosition(pos).line + 1;

function nameText(name) {
  if (!name) return undefined;
  if (ts.isIdentifier(name) || ts.isPrivateIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name)) {
    return name.text;
  }
  return undefined;
}

// [name, node] when `node` is a named definition a call can be made from or to
function named(node) {
  const fn = (n) => n && (ts.isArrowFunction(n) || ts.isFunctionExpression(n) || ts.isClassExpression(n));
  if (ts.isFunctionDeclaration(node) || ts.isClassDeclaration(node)) return node.name ? node.name.text : 'default';
  if (ts.isMethodDeclaration(node) || ts.isMethodSignature(node) || ts.isGetAccessor(node) || ts.isSetAccessor(node)) {
    return nameText(node.name);
  }
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  if (ts.isInterfaceDeclaration(node) || ts.isModuleDeclaration(node)) return nameText(node.name);
  if ((ts.isVariableDeclaration(node) || ts.isPropertyDeclaration(node) || ts.isPropertyAssignment(node))
    && fn(node.initializer && skipOuter(node.initializer))) {
    return nameText(node.name);
  }
  if (ts.isPropertySignature(node) && node.type && ts.isFunctionTypeNode(node.type)) return nameText(node.name);
  // JavaScript: Foo.prototype.bar = function () {}, exports.f = () => {}, options.hook = function () {}
  if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.EqualsToken
    && ts.isPropertyAccessExpression(node.left) && fn(skipOuter(node.right))) {
    return nameText(node.left.name);
  }
  return undefined;
}

function skipOuter(n) {
  while (ts.isParenthesizedExpression(n) || ts.isAsExpression(n) || ts.isNonNullExpression(n)) n = n.expression;
  return n;
}

function key(node) {
  // an overloaded function is one definition, where its first signature starts
  const declarations = node.symbol && node.symbol.declarations;
  if (declarations && declarations.length > 1 && (ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)
    || ts.isConstructorDeclaration(node))) {
    node = declarations.find((d) => d.kind === node.kind) || node;
  }
  const sf = node.getSourceFile();
  return [rel(sf), named(node), lineOf(sf, node.getStart(sf))];
}

// The named definition whose code contains `node` (anonymous callbacks belong to it); the module at the top.
function callerOf(node) {
  for (let n = node.parent; n && !ts.isSourceFile(n); n = n.parent) {
    if (named(n) !== undefined && !ts.isMethodSignature(n) && !ts.isPropertySignature(n)) return key(n);
  }
  return [rel(node.getSourceFile()), '<module>', 0];
}

// The named definition a resolved declaration is (a function value's variable or property), or "<anonymous>".
function calleeOf(declaration) {
  if (rel(declaration.getSourceFile()) === undefined) return '<lib>';
  if (named(declaration) !== undefined) return key(declaration);
  let parent = declaration.parent;
  while (parent && (ts.isParenthesizedExpression(parent) || ts.isAsExpression(parent))) parent = parent.parent;
  const namesIt = parent && named(parent) !== undefined && (ts.isPropertySignature(parent) ? parent.type === declaration
    : ts.isBinaryExpression(parent) ? skipOuter(parent.right) === declaration : skipOuter(parent.initializer) === declaration);
  if (namesIt) return key(parent);
  return '<anonymous>';
}

function classTarget(expression) {
  let symbol = expression.kind === ts.SyntaxKind.SuperKeyword
    ? checker.getTypeAtLocation(expression).getSymbol() : checker.getSymbolAtLocation(expression);
  if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
  const declaration = symbol && (symbol.valueDeclaration || (symbol.declarations || [])[0]);
  return declaration ? calleeOf(declaration) : null;
}

// The name a call spells: `a.b.f()` -> "f", `new C()` -> "C", `super()` -> "super"
function calledName(expression) {
  while (ts.isParenthesizedExpression(expression) || ts.isNonNullExpression(expression)) expression = expression.expression;
  if (ts.isPropertyAccessExpression(expression)) return expression.name.text;
  if (ts.isIdentifier(expression)) return expression.text;
  if (expression.kind === ts.SyntaxKind.SuperKeyword) return 'super';
  return '';
}

const definitions = [];
const sites = [];
for (const sf of program.getSourceFiles()) {
  const file = rel(sf);
  if (file === undefined) continue;
  const visit = (node) => {
    const name = named(node);
    if (name !== undefined) {
      const kind = ts.isClassDeclaration(node) || ts.isClassExpression(node) ? 'class' : 'function';
      definitions.push([file, name, kind, lineOf(sf, node.getStart(sf)), lineOf(sf, node.getEnd())]);
    }
    const isCall = ts.isCallExpression(node) && node.expression.kind !== ts.SyntaxKind.ImportKeyword;
    if (isCall || ts.isNewExpression(node)) {
      let callee = null;
      try {
        const declaration = checker.getResolvedSignature(node)?.declaration;
        if (declaration && !ts.isJSDocSignature?.(declaration)) callee = calleeOf(declaration);
        else if (ts.isNewExpression(node) || node.expression.kind === ts.SyntaxKind.SuperKeyword) {
          callee = classTarget(node.expression);
        }
      } catch (e) {
        callee = null;
      }
      sites.push([file, lineOf(sf, node.getStart(sf)), callerOf(node), callee, calledName(node.expression)]);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
}
process.stdout.write(JSON.stringify({ typescript: ts.version, definitions, sites }));
