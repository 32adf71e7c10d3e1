;; Rust patterns tree-sitter-rust's tags.scm leaves out and an agent asks for: trait method signatures, path calls.
(function_signature_item name: (identifier) @name) @definition.method
(call_expression function: (scoped_identifier name: (identifier) @name)) @reference.call
