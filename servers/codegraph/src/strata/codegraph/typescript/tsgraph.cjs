'use strict';
// Strata codegraph: definitions, calls, references, imports and bases of a repository's TypeScript and
// JavaScript files, resolved by the TypeScript compiler's own checker.
//
// Protocol: JSON lines. The first line on stdin is {root, files: [repository-relative paths], typescript: path of
// typescript.js, tsconfig: repository-relative path or ""}; the answer (stdout) is {"typescript": version, ...},
// one {"file": path, ...} record per file, then {"done": true, ...}. Every later line is an edit,
// {"changed": [paths, new ones too], "removed": [paths]}: the program is rebuilt from the previous one (unchanged
// files are not parsed or bound again), and records come back for the changed files and, when what a changed
// file declares changed (its outline: definitions without bodies, members, exports; an inferred return type), for
// every file that uses it; then
// {"done": true, "removed": [...]}. End of input ends the process.
//
// A call's target is the declaration of the signature the checker resolves
// (checker.getResolvedSignature(call).declaration), named like the definitions:
//   a project definition   "<path>:<Outer.inner>"  (a repeated name in one scope gets "@<line>")
//   a library declaration  "<lib>:<qualified name>"  (lib.d.ts, @types, node_modules: "<lib>:<package>:<name>")
//   nothing known          "<unresolved>:<callee as spelled>"  (an `any` receiver, a call of a call's result)
// A call whose declaration is an anonymous function (a callback, a returned closure) has no definition to name
// and is counted in `anonymous`.

const fs = require('fs');
const path = require('path');

const readline = require('readline');

let input;
let ts;
let root;
const MAX_TEXT = 80;

function out(value) {
  process.stdout.write(JSON.stringify(value) + '\n');
}

function compilerOptions() {
  const defaults = {
    allowJs: true,
    checkJs: false,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ESNext,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    jsx: ts.JsxEmit.Preserve,
    resolveJsonModule: true,
    allowImportingTsExtensions: true,
    allowArbitraryExtensions: true,
  };
  if (!input.tsconfig) return { options: defaults, config: '' };
  const configPath = path.join(root, input.tsconfig);
  const read = ts.readConfigFile(configPath, ts.sys.readFile);
  if (read.error) return { options: defaults, config: '', error: flatten(read.error.messageText) };
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, path.dirname(configPath), undefined, configPath);
  const options = Object.assign({}, parsed.options, {
    allowJs: parsed.options.allowJs !== false,
    noEmit: true,
    skipLibCheck: true,
    allowImportingTsExtensions: true,
  });
  delete options.declaration;
  delete options.composite;
  delete options.incremental;
  delete options.tsBuildInfoFile;
  delete options.emitDeclarationOnly;
  delete options.outDir;
  if (options.moduleResolution === undefined && options.module === undefined) {
    options.module = ts.ModuleKind.ESNext;
    options.moduleResolution = ts.ModuleResolutionKind.Bundler;
  }
  return { options, config: input.tsconfig };
}

function flatten(message) {
  return typeof message === 'string' ? message : ts.flattenDiagnosticMessageText(message, ' ');
}

let options;
let host;
let program;
let checker;
const sourceCache = new Map(); // absolute file name -> SourceFile: what a rebuild reuses
const relativeOf = new Map(); // absolute file name -> repository-relative path (the indexed files only)

function absolute(rel) {
  return path.join(root, rel).split(path.sep).join('/');
}

function makeHost() {
  const made = ts.createCompilerHost(options);
  const read = made.getSourceFile;
  made.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    const key = fileName.split(path.sep).join('/');
    let sourceFile = sourceCache.get(key);
    if (sourceFile === undefined) {
      sourceFile = read.call(made, fileName, languageVersion, onError, shouldCreate);
      if (sourceFile !== undefined) sourceCache.set(key, sourceFile);
    }
    return sourceFile;
  };
  return made;
}

function build() {
  const rootNames = [...relativeOf.keys()];
  program = ts.createProgram({ rootNames, options, host, oldProgram: program });
  checker = program.getTypeChecker();
}

function relative(sourceFile) {
  return relativeOf.get(sourceFile.fileName.split(path.sep).join('/'));
}

function line(sourceFile, position) {
  return sourceFile.getLineAndCharacterOfPosition(position).line + 1;
}

// ---- definitions -------------------------------------------------------------------------------------------

const defOf = new WeakMap(); // declaration node -> definition id (overload signatures -> the implementation's)
const fileDefs = new Map(); // relative path -> [[id, name, kind, start, end], ...]
const defNodes = new Map(); // relative path -> [[id, declaration node], ...]

function isFunctionValue(node) {
  return node && (ts.isArrowFunction(node) || ts.isFunctionExpression(node));
}

function unwrap(node) {
  while (node && (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isSatisfiesExpression?.(node)
    || ts.isTypeAssertionExpression(node) || ts.isNonNullExpression(node))) {
    node = node.expression;
  }
  return node;
}

function propertyName(name) {
  if (!name) return undefined;
  if (ts.isIdentifier(name) || ts.isPrivateIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name)) {
    return name.text;
  }
  if (ts.isComputedPropertyName(name)) {
    const e = name.expression;
    if (ts.isPropertyAccessExpression(e)) return '[' + e.getText() + ']';
    if (ts.isStringLiteralLike(e)) return e.text;
    return undefined;
  }
  return undefined;
}

// What a node defines: [name, kind, value node whose body holds the definition's code] or undefined.
function definitionOf(node) {
  switch (node.kind) {
    case ts.SyntaxKind.ClassDeclaration:
    case ts.SyntaxKind.ClassExpression:
      if (node.name) return [node.name.text, 'class'];
      if (node.parent && ts.isExportAssignment(node.parent)) return ['default', 'class'];
      return undefined; // named by its variable or property below
    case ts.SyntaxKind.InterfaceDeclaration:
      return [node.name.text, 'interface'];
    case ts.SyntaxKind.EnumDeclaration:
    case ts.SyntaxKind.TypeAliasDeclaration:
      return [node.name.text, 'class'];
    case ts.SyntaxKind.ModuleDeclaration:
      return ts.isIdentifier(node.name) ? [node.name.text, 'module'] : undefined;
    case ts.SyntaxKind.FunctionDeclaration:
      if (node.name) return [node.name.text, 'function'];
      return ['default', 'function'];
    case ts.SyntaxKind.FunctionExpression:
    case ts.SyntaxKind.ArrowFunction:
      if (node.parent && ts.isExportAssignment(node.parent)) return ['default', 'function'];
      return undefined;
    case ts.SyntaxKind.MethodDeclaration:
    case ts.SyntaxKind.MethodSignature:
    case ts.SyntaxKind.GetAccessor:
    case ts.SyntaxKind.SetAccessor: {
      const name = propertyName(node.name);
      return name === undefined ? undefined : [name, 'method'];
    }
    case ts.SyntaxKind.Constructor:
      return ['constructor', 'method'];
    case ts.SyntaxKind.PropertyDeclaration:
    case ts.SyntaxKind.PropertyAssignment: {
      const value = unwrap(node.initializer);
      const name = propertyName(node.name);
      if (name === undefined || !value) return undefined;
      if (isFunctionValue(value)) return [name, 'method'];
      if (ts.isClassExpression(value)) return [name, 'class'];
      return undefined;
    }
    case ts.SyntaxKind.PropertySignature: {
      const name = propertyName(node.name);
      return name !== undefined && node.type && ts.isFunctionTypeNode(node.type) ? [name, 'method'] : undefined;
    }
    case ts.SyntaxKind.VariableDeclaration: {
      const value = unwrap(node.initializer);
      if (!ts.isIdentifier(node.name) || !value) return undefined;
      if (isFunctionValue(value)) return [node.name.text, 'function'];
      if (ts.isClassExpression(value)) return [node.name.text, 'class'];
      return undefined;
    }
    case ts.SyntaxKind.BinaryExpression: {
      // JavaScript: exports.f = function () {}, Foo.prototype.bar = function () {}, obj.f = () => {}
      if (node.operatorToken.kind !== ts.SyntaxKind.EqualsToken) return undefined;
      const value = unwrap(node.right);
      if (!isFunctionValue(value) && !(value && ts.isClassExpression(value))) return undefined;
      const left = node.left;
      if (!ts.isPropertyAccessExpression(left) || !ts.isIdentifier(left.name)) return undefined;
      const kind = ts.isClassExpression(value) ? 'class' : 'function';
      const owner = left.expression;
      if (ts.isPropertyAccessExpression(owner) && owner.name.text === 'prototype') {
        return [left.name.text, 'method', owner.expression.getText()];
      }
      if (ts.isIdentifier(owner) && owner.text === 'module' && left.name.text === 'exports') return ['default', kind, ''];
      if (ts.isIdentifier(owner) && owner.text === 'exports') return [left.name.text, kind, ''];
      if (owner.kind === ts.SyntaxKind.ThisKeyword) return [left.name.text, 'method', null];
      return [left.name.text, kind, owner.getText().replace(/\s+/g, '')];
    }
    default:
      return undefined;
  }
}

// The node whose subtree is the definition's code (a variable's function value, a property's arrow).
function bodyNode(node) {
  if (ts.isVariableDeclaration(node) || ts.isPropertyDeclaration(node) || ts.isPropertyAssignment(node)) {
    return unwrap(node.initializer);
  }
  if (ts.isBinaryExpression(node)) return unwrap(node.right);
  return node;
}

// Push a node's children on a work list so that they pop in source order.
function pushChildren(work, node, item) {
  const children = [];
  ts.forEachChild(node, (child) => {
    children.push(child);
  });
  for (let i = children.length - 1; i >= 0; i--) work.push(item(children[i]));
}

function collectDefinitions(sourceFile, rel) {
  const rows = [];
  const nodes = [];
  const used = new Set();
  const implementations = new Map(); // "<parent id>\0<name>" -> id of the declaration with a body
  function add(node, qualifier, name, kind) {
    const start = line(sourceFile, node.getStart(sourceFile));
    const qualified = qualifier ? qualifier + '.' + name : name;
    const overloadKey = qualifier + '\0' + name + '\0' + kind;
    const isSignature = (ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) || ts.isConstructorDeclaration(node))
      && !node.body;
    const siblings = implementations.get(overloadKey);
    if (siblings && siblings.overloads && (isSignature || siblings.signatureOnly)) {
      // an overload signature or the implementation after its signatures: one definition
      defOf.set(node, siblings.id);
      if (!isSignature && siblings.signatureOnly) {
        siblings.signatureOnly = false;
        siblings.row[4] = line(sourceFile, node.getEnd());
      }
      return siblings.id;
    }
    let id = rel + ':' + qualified;
    if (used.has(id)) id = id + '@' + start;
    let n = 2;
    while (used.has(id)) id = rel + ':' + qualified + '@' + start + '#' + n++;
    used.add(id);
    const row = [id, name, kind, start, line(sourceFile, node.getEnd())];
    rows.push(row);
    nodes.push([id, node]);
    defOf.set(node, id);
    const overloadable = ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) || ts.isConstructorDeclaration(node);
    implementations.set(overloadKey, { id, row, overloads: overloadable, signatureOnly: isSignature });
    return id;
  }
  const work = [[sourceFile, '', '']]; // [node, qualifier, the qualifier of the class around it]
  while (work.length) {
    const [node, qualifier, classQualifier] = work.pop();
    const found = definitionOf(node);
    let inner = qualifier;
    if (found) {
      const [name, kind, override] = found;
      // `this.f = ...` belongs to the class around it; `Foo.prototype.f = ...` to Foo
      const owner = override === null ? classQualifier : override === undefined ? qualifier : override;
      add(node, owner, name, kind);
      inner = owner ? owner + '.' + name : name;
    } else if (ts.isObjectLiteralExpression(node) && node.parent && ts.isVariableDeclaration(node.parent)
      && ts.isIdentifier(node.parent.name)) {
      inner = qualifier ? qualifier + '.' + node.parent.name.text : node.parent.name.text;
    }
    const innerClass = found && found[1] === 'class' ? inner : classQualifier;
    pushChildren(work, node, (child) => [child, inner, innerClass]);
  }
  fileDefs.set(rel, rows);
  defNodes.set(rel, nodes);
}

// ---- targets ------------------------------------------------------------------------------------------------

function isLibraryFile(sourceFile) {
  return relative(sourceFile) === undefined;
}

function packageOf(fileName) {
  const normal = fileName.split(path.sep).join('/');
  const at = normal.lastIndexOf('/node_modules/');
  if (at < 0) return '';
  const parts = normal.slice(at + '/node_modules/'.length).split('/');
  let name = parts[0].startsWith('@') ? parts[0] + '/' + parts[1] : parts[0];
  if (name.startsWith('@types/')) {
    const bare = name.slice('@types/'.length);
    name = bare.includes('__') ? '@' + bare.replace('__', '/') : bare;
  }
  return name;
}

// "<lib>:JSON.stringify", "<lib>:zod:ZodType.parse": the declaration's name with its containers.
function libraryTarget(declaration) {
  const sourceFile = declaration.getSourceFile();
  let symbol = declaration.symbol;
  if (!symbol && declaration.name) symbol = checker.getSymbolAtLocation(declaration.name);
  let name;
  if (symbol) {
    const qualified = checker.getFullyQualifiedName(symbol);
    name = qualified.replace(/^"[^"]*"\./, '');
    if (name.startsWith('__')) name = undefined;
  }
  if (!name) {
    const parts = [];
    for (let n = declaration; n && !ts.isSourceFile(n); n = n.parent) {
      const p = n.name && propertyName(n.name);
      if (p) parts.unshift(p);
    }
    name = parts.join('.') || '?';
  }
  const pkg = program.isSourceFileDefaultLibrary(sourceFile) ? '' : packageOf(sourceFile.fileName);
  if (!pkg) {
    // lib.d.ts declares `new Set()` as SetConstructor's construct signature and `Object.assign` on ObjectConstructor
    name = name.replace(/^(\w+)Constructor\.__new$/, '$1.constructor').replace(/^(\w+)Constructor\.__call$/, '$1')
      .replace(/^(\w+)Constructor\./, '$1.');
  }
  return '<lib>:' + (pkg ? pkg + ':' : '') + name;
}

// The definition a declaration is: itself, or the variable, property, assignment or signature that names a function
// value or function type; undefined for an anonymous function (a callback, a parameter's type, a returned closure).
function projectTarget(declaration) {
  const id = defOf.get(declaration);
  if (id !== undefined) return id;
  if (!(isFunctionValue(declaration) || ts.isClassExpression(declaration) || ts.isFunctionTypeNode(declaration))) {
    return undefined;
  }
  let parent = declaration.parent;
  while (parent && (ts.isParenthesizedExpression(parent) || ts.isAsExpression(parent) || ts.isNonNullExpression(parent)
    || (ts.isSatisfiesExpression && ts.isSatisfiesExpression(parent)) || ts.isTypeAssertionExpression(parent))) {
    parent = parent.parent;
  }
  const named = parent && defOf.get(parent);
  if (named === undefined) return undefined;
  if (ts.isFunctionTypeNode(declaration)) return ts.isPropertySignature(parent) && parent.type === declaration ? named : undefined;
  return bodyNode(parent) === declaration ? named : undefined;
}

function targetOfDeclaration(declaration) {
  if (!declaration) return undefined;
  if (isLibraryFile(declaration.getSourceFile())) return libraryTarget(declaration);
  const id = projectTarget(declaration);
  return id === undefined ? null : id; // null: a project function with no name
}

function aliased(symbol) {
  if (symbol && symbol.flags & ts.SymbolFlags.Alias) {
    try {
      return checker.getAliasedSymbol(symbol);
    } catch (e) {
      return symbol;
    }
  }
  return symbol;
}

function targetOfSymbol(symbol) {
  symbol = aliased(symbol);
  if (!symbol || !symbol.declarations || symbol.declarations.length === 0) return undefined;
  const declaration = symbol.valueDeclaration || symbol.declarations[0];
  return targetOfDeclaration(declaration);
}

function spelled(node) {
  const text = node.getText().replace(/\s+/g, ' ');
  return text.length > MAX_TEXT ? text.slice(0, MAX_TEXT) + '…' : text;
}

function calleeTarget(call) {
  let signature;
  try {
    signature = checker.getResolvedSignature(call);
  } catch (e) {
    signature = undefined;
  }
  let declaration = signature && signature.declaration;
  if (declaration && ts.isJSDocSignature?.(declaration)) declaration = declaration.parent;
  if (declaration) return targetOfDeclaration(declaration);
  // `new C()` / `super()` with no constructor declared: the class itself
  if (ts.isNewExpression(call) || (ts.isCallExpression(call) && call.expression.kind === ts.SyntaxKind.SuperKeyword)) {
    let type;
    try {
      if (call.expression.kind === ts.SyntaxKind.SuperKeyword) {
        type = checker.getTypeAtLocation(call.expression);
        const symbol = type && type.getSymbol();
        if (symbol) return targetOfSymbol(symbol);
      } else {
        const symbol = checker.getSymbolAtLocation(call.expression);
        const target = targetOfSymbol(symbol);
        if (target !== undefined) return target;
      }
    } catch (e) {
      // fall through: unresolved
    }
  }
  return importedFromPackage(call.expression);
}

// `useState()` / `React.useState()` imported from a package that is not installed: "<lib>:react:useState".
function importedFromPackage(expression) {
  const chain = [];
  let e = expression;
  while (e && ts.isPropertyAccessExpression(e)) {
    chain.unshift(e.name.text);
    e = e.expression;
  }
  if (!e || !ts.isIdentifier(e)) return undefined;
  let symbol;
  try {
    symbol = checker.getSymbolAtLocation(e);
  } catch (error) {
    return undefined;
  }
  const declaration = symbol && symbol.flags & ts.SymbolFlags.Alias && symbol.declarations && symbol.declarations[0];
  if (!declaration) return undefined;
  let statement = declaration;
  while (statement && !ts.isImportDeclaration(statement)) statement = statement.parent;
  if (!statement || !ts.isStringLiteral(statement.moduleSpecifier)) return undefined;
  const specifier = statement.moduleSpecifier.text;
  if (specifier.startsWith('.') || specifier.startsWith('/')) return undefined;
  let imported = [];
  if (ts.isImportSpecifier(declaration)) imported = [(declaration.propertyName || declaration.name).text];
  else if (ts.isImportClause(declaration)) imported = ['default'];
  return '<lib>:' + specifier + ':' + (imported.concat(chain).join('.') || 'default');
}

// ---- per file ------------------------------------------------------------------------------------------------

const counts = { sites: 0, project: 0, library: 0, unresolved: 0, anonymous: 0 };
const dependsOn = new Map(); // relative path -> the project files its edges point into

function fileOfTarget(target) {
  if (target.startsWith('<')) return undefined;
  const at = target.indexOf(':');
  return at > 0 ? target.slice(0, at) : target;
}

function emit(sourceFile, rel) {
  const calls = new Set();
  const refs = new Set();
  const imports = new Set();
  const bases = [];
  function caller(stack) {
    return stack.length ? stack[stack.length - 1] : rel;
  }
  function addCall(from, node, target) {
    counts.sites++;
    const at = line(sourceFile, node.getStart(sourceFile));
    if (target === null) {
      counts.anonymous++;
      return;
    }
    if (target === undefined) {
      counts.unresolved++;
      const callee = ts.isCallExpression(node) || ts.isNewExpression(node) ? node.expression
        : ts.isTaggedTemplateExpression(node) ? node.tag : node.expression;
      target = '<unresolved>:' + spelled(callee);
    } else if (target.startsWith('<lib>:')) {
      counts.library++;
    } else {
      counts.project++;
    }
    calls.add(JSON.stringify([from, target, at]));
  }
  function addRef(from, node, target) {
    if (typeof target !== 'string' || target === from) return;
    refs.add(JSON.stringify([from, target, line(sourceFile, node.getStart(sourceFile))]));
  }
  function importTargets(node, specifier) {
    const at = line(sourceFile, node.getStart(sourceFile));
    let moduleSymbol;
    try {
      moduleSymbol = checker.getSymbolAtLocation(specifier);
    } catch (e) {
      moduleSymbol = undefined;
    }
    const declaration = moduleSymbol && moduleSymbol.declarations && moduleSymbol.declarations[0];
    let module;
    if (declaration && ts.isSourceFile(declaration)) {
      module = relative(declaration) || '<lib>:' + (packageOf(declaration.fileName) || specifier.text);
    } else {
      module = '<lib>:' + specifier.text;
    }
    return [module, at];
  }
  // Depth first in source order with a work list of its own: a deeply nested file (a generated expression of 60,000
  // terms) would overflow the call stack.
  const work = [[sourceFile, []]];
  while (work.length) {
    const [node, stack] = work.pop();
    const id = defOf.get(node);
    const inner = id !== undefined ? stack.concat([id]) : stack;
    if (ts.isCallExpression(node) || ts.isNewExpression(node) || ts.isTaggedTemplateExpression(node)
      || ts.isDecorator(node)) {
      if (ts.isDecorator(node)) {
        if (ts.isCallExpression(node.expression)) {
          // @dec(...): the call expression is visited as a call below
        } else {
          addCall(caller(stack), node, calleeTarget(node));
        }
      } else if (!(ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword)) {
        addCall(caller(stack), node, calleeTarget(node));
      }
    } else if (ts.isImportDeclaration(node) || (ts.isExportDeclaration(node) && node.moduleSpecifier)) {
      if (node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
        const [module, at] = importTargets(node, node.moduleSpecifier);
        const clause = ts.isImportDeclaration(node) ? node.importClause : node.exportClause;
        const names = [];
        if (clause && ts.isImportClause(clause)) {
          if (clause.name) names.push(clause.name);
          const bindings = clause.namedBindings;
          if (bindings && ts.isNamedImports(bindings)) for (const e of bindings.elements) names.push(e.name);
        } else if (clause && ts.isNamedExports(clause)) {
          for (const e of clause.elements) names.push(e.name);
        }
        let named = 0;
        for (const name of names) {
          let target;
          try {
            const symbol = checker.getSymbolAtLocation(name);
            target = symbol ? targetOfSymbol(symbol) : undefined;
          } catch (e) {
            target = undefined;
          }
          if (typeof target === 'string' && !target.startsWith('<lib>:')) {
            imports.add(JSON.stringify([rel, target, at]));
            named++;
          } else if (target === undefined && module.startsWith('<lib>:') && ts.isImportSpecifier(name.parent)) {
            // a package that is not installed: the name it is asked for
            const imported = (name.parent.propertyName || name.parent.name).text;
            imports.add(JSON.stringify([rel, module + ':' + imported, at]));
            named++;
          }
        }
        if (!named) imports.add(JSON.stringify([rel, module, at]));
      }
    } else if (ts.isHeritageClause(node)) {
      const owner = caller(stack);
      node.types.forEach((expression) => {
        let target;
        try {
          target = targetOfSymbol(checker.getSymbolAtLocation(expression.expression));
        } catch (e) {
          target = undefined;
        }
        if (target === undefined || target === null) {
          target = '<unresolved>:' + spelled(expression.expression);
        }
        bases.push([owner, target, bases.filter((b) => b[0] === owner).length]);
      });
    } else if (ts.isTypeReferenceNode(node)) {
      try {
        addRef(caller(stack), node, targetOfSymbol(checker.getSymbolAtLocation(node.typeName)));
      } catch (e) {
        // an unresolvable type name: no reference
      }
    } else if ((ts.isIdentifier(node) || ts.isPropertyAccessExpression(node)) && isValueUse(node)) {
      try {
        const target = targetOfSymbol(checker.getSymbolAtLocation(ts.isIdentifier(node) ? node : node.name));
        if (typeof target === 'string' && !target.startsWith('<lib>:')) addRef(caller(stack), node, target);
      } catch (e) {
        // no symbol: no reference
      }
    }
    pushChildren(work, node, (child) => [child, inner]);
  }
  const deps = new Set();
  for (const rows of [calls, refs, imports]) {
    for (const row of rows) {
      const file = fileOfTarget(JSON.parse(row)[1]);
      if (file !== undefined && file !== rel) deps.add(file);
    }
  }
  for (const base of bases) {
    const file = fileOfTarget(base[1]);
    if (file !== undefined && file !== rel) deps.add(file);
  }
  dependsOn.set(rel, deps);
  out({
    file: rel,
    language: languageOf(rel),
    definitions: fileDefs.get(rel),
    calls: [...calls].map((c) => JSON.parse(c)),
    references: [...refs].map((r) => JSON.parse(r)),
    imports: [...imports].map((i) => JSON.parse(i)),
    bases,
    errors: sourceFile.parseDiagnostics ? sourceFile.parseDiagnostics.length : 0,
  });
}

// An identifier used as a value that is not the called name, a declaration's name or a property name:
// `arr.map(helper)`, `const f = helper`, `handlers[helper.name]`.
function isValueUse(node) {
  const parent = node.parent;
  if (!parent) return false;
  if (ts.isPropertyAccessExpression(node)) {
    // `accounts.remove` handed over as a value, not called and not the object of a longer access
    if ((ts.isCallExpression(parent) || ts.isNewExpression(parent)) && parent.expression === node) return false;
    if ((ts.isPropertyAccessExpression(parent) || ts.isElementAccessExpression(parent)) && parent.expression === node) {
      return false;
    }
    if (ts.isBinaryExpression(parent) && parent.left === node) return false;
    return ts.isCallExpression(parent) || ts.isVariableDeclaration(parent) || ts.isReturnStatement(parent)
      || ts.isArrayLiteralExpression(parent) || ts.isPropertyAssignment(parent) || ts.isExportAssignment(parent);
  }
  if ((ts.isCallExpression(parent) || ts.isNewExpression(parent)) && parent.expression === node) return false;
  if (ts.isPropertyAccessExpression(parent) && parent.name === node) return false;
  if (ts.isPropertyAccessExpression(parent) && parent.expression === node) return false;
  if (parent.name === node) return false; // declarations, property assignments
  if (ts.isImportSpecifier(parent) || ts.isExportSpecifier(parent) || ts.isImportClause(parent)) return false;
  if (ts.isTypeReferenceNode(parent) || ts.isQualifiedName(parent) || ts.isExpressionWithTypeArguments(parent)) return false;
  if (ts.isTypeQueryNode(parent)) return false;
  if (ts.isShorthandPropertyAssignment(parent)) return true;
  return ts.isExpression(parent) || ts.isVariableDeclaration(parent) || ts.isReturnStatement(parent)
    || ts.isArrayLiteralExpression(parent) || ts.isPropertyAssignment(parent) || ts.isExportAssignment(parent)
    || ts.isSpreadElement(parent);
}

function languageOf(rel) {
  if (/\.tsx$/.test(rel)) return 'tsx';
  if (/\.(c|m)?ts$/.test(rel)) return 'typescript';
  return 'javascript';
}

// What other files can see of one file, as text: each definition without its function body (with the body kept
// aside), the classes' and interfaces' members that are not definitions, top-level statements that are not
// definitions (imports, exports, variables). Two outlines with the same text give other files the same answers,
// except where a function without a return type annotation changed its body: its inferred return type is then
// asked of each program's checker (see reshapedBetween).
function outline(rel) {
  const sourceFile = program.getSourceFile(absolute(rel));
  if (!sourceFile) return null;
  const text = sourceFile.text;
  const entries = new Map(); // id -> [header, body, function node or null]
  const extra = [];
  for (const [id, node] of defNodes.get(rel) || []) {
    const fn = ts.isFunctionLike(node) ? node : bodyNode(node);
    if (fn && ts.isFunctionLike(fn) && fn.body) {
      const header = text.slice(node.getStart(sourceFile), fn.body.getStart(sourceFile)) + text.slice(fn.body.end, node.end);
      entries.set(id, [header, text.slice(fn.body.getStart(sourceFile), fn.body.end), fn]);
    } else if (ts.isClassLike(node) && node.members) {
      entries.set(id, [text.slice(node.getStart(sourceFile), node.members.pos), '', null]);
    } else {
      entries.set(id, [text.slice(node.getStart(sourceFile), node.end), '', null]);
    }
  }
  const visit = (node) => {
    if ((ts.isPropertyDeclaration(node) || ts.isPropertySignature(node) || ts.isIndexSignatureDeclaration(node)
      || ts.isEnumMember(node)) && !defOf.has(node)) {
      extra.push(text.slice(node.getStart(sourceFile), node.end));
    }
    if (ts.isClassLike(node) || ts.isInterfaceDeclaration(node) || ts.isTypeLiteralNode(node) || ts.isEnumDeclaration(node)
      || ts.isModuleDeclaration(node) || ts.isModuleBlock(node) || ts.isSourceFile(node)) {
      ts.forEachChild(node, visit);
    }
  };
  visit(sourceFile);
  for (const statement of sourceFile.statements) {
    if (!defOf.has(statement) && !ts.isFunctionDeclaration(statement) && !ts.isClassDeclaration(statement)
      && !ts.isInterfaceDeclaration(statement) && !ts.isModuleDeclaration(statement) && !ts.isExpressionStatement(statement)) {
      extra.push(text.slice(statement.getStart(sourceFile), statement.end));
    }
  }
  return { entries, extra: extra.join('\n'), checker };
}

function returnType(fn, from) {
  try {
    const signature = from.getSignatureFromDeclaration(fn);
    return signature ? from.typeToString(from.getReturnTypeOfSignature(signature), undefined,
      ts.TypeFormatFlags.NoTruncation) : '?';
  } catch (e) {
    return '?';
  }
}

function reshapedBetween(before, after) {
  if (before === null || after === null) return before !== after;
  if (before.extra !== after.extra || before.entries.size !== after.entries.size) return true;
  for (const [id, [header, body, fn]] of after.entries) {
    const old = before.entries.get(id);
    if (!old || old[0] !== header) return true;
    if (old[1] !== body && fn && !fn.type && !ts.isConstructorDeclaration(fn)
      && returnType(old[2], before.checker) !== returnType(fn, after.checker)) {
      return true; // an inferred return type moved with the body
    }
  }
  return false;
}

// One file the compiler cannot walk (nesting past the stack, a checker crash) keeps what it defined and loses its
// edges; the other files are not held back.
function safely(rel, work, recordOnFailure) {
  try {
    work();
  } catch (error) {
    process.stderr.write('tsgraph: ' + rel + ': ' + String(error && error.message).slice(0, 200) + '\n');
    if (!fileDefs.has(rel)) fileDefs.set(rel, []);
    if (recordOnFailure) {
      out({ file: rel, language: languageOf(rel), definitions: fileDefs.get(rel), calls: [], references: [], imports: [],
        bases: [], errors: 1 });
    }
  }
}

function start(request) {
  input = request;
  ts = require(input.typescript);
  root = path.resolve(input.root);
  const configured = compilerOptions();
  options = configured.options;
  host = makeHost();
  for (const f of input.files) relativeOf.set(absolute(f), f);
  build();
  out({
    typescript: ts.version, tsconfig: configured.config, tsconfig_error: configured.error || '', paths: !!options.paths,
  });
  const sourceFiles = [];
  for (const sourceFile of program.getSourceFiles()) {
    const rel = relative(sourceFile);
    if (rel === undefined) continue;
    sourceFiles.push([sourceFile, rel]);
    safely(rel, () => collectDefinitions(sourceFile, rel), false);
  }
  for (const [sourceFile, rel] of sourceFiles) safely(rel, () => emit(sourceFile, rel), true);
  out({ done: true, counts });
}

function update(edit) {
  const changed = (edit.changed || []).filter((f) => typeof f === 'string');
  const removed = (edit.removed || []).filter((f) => typeof f === 'string');
  const before = new Map();
  for (const rel of [...changed, ...removed]) before.set(rel, fileDefs.has(rel) ? outline(rel) : null);
  for (const rel of [...changed, ...removed]) sourceCache.delete(absolute(rel));
  for (const rel of removed) {
    relativeOf.delete(absolute(rel));
    fileDefs.delete(rel);
    defNodes.delete(rel);
    dependsOn.delete(rel);
  }
  for (const rel of changed) relativeOf.set(absolute(rel), rel);
  build();
  for (const rel of changed) {
    const sourceFile = program.getSourceFile(absolute(rel));
    if (sourceFile) safely(rel, () => collectDefinitions(sourceFile, rel), false);
  }
  const affected = new Set(changed);
  const reshaped = [...before.keys()].filter((rel) => reshapedBetween(before.get(rel), fileDefs.has(rel) ? outline(rel) : null));
  if (reshaped.length) {
    // every file that uses a reshaped one, and the files that use those (re-exports pass names on)
    const users = new Map();
    for (const [rel, deps] of dependsOn) {
      for (const dep of deps) {
        if (!users.has(dep)) users.set(dep, []);
        users.get(dep).push(rel);
      }
    }
    const queue = [...reshaped];
    while (queue.length) {
      for (const user of users.get(queue.pop()) || []) {
        if (!affected.has(user) && fileDefs.has(user)) {
          affected.add(user);
          queue.push(user);
        }
      }
    }
  }
  for (const rel of affected) {
    const sourceFile = program.getSourceFile(absolute(rel));
    if (sourceFile) safely(rel, () => emit(sourceFile, rel), true);
  }
  out({ done: true, removed, reshaped });
}

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', (text) => {
  if (!text.trim()) return;
  const message = JSON.parse(text);
  if (input === undefined) start(message);
  else update(message);
});
