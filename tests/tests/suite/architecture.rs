//! The shape the design card asks for, checked on the source: no module of the shared crate
//! imports one that imports it back (directly or through others), and no domain module imports
//! the composition root (`app`), the configuration loader (`config`), the HTTP layer (`api`) or
//! the entry points (`serve`, `lambda`). A module here is a top-level module of
//! `shared/src` (`outbound`, `delivery`, …); an import is any `crate::<module>` path in its
//! files outside `#[cfg(test)]` blocks and comments.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The modules that wire or serve; every other module is domain, ports or adapters.
const OUTER: [&str; 5] = ["app", "config", "api", "serve", "lambda"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read shared/src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source without comments and without its unit-test module.
fn code_of(source: &str) -> String {
    let without_tests = source
        .split("#[cfg(test)]\nmod tests")
        .next()
        .unwrap_or(source);
    without_tests
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every top-level module named by a `crate::…` path in `code`.
fn imported_modules(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            group[..end].split(',').collect()
        } else {
            vec![rest]
        };
        for name in names {
            let ident: String = name
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !ident.is_empty() && ident != "self" {
                out.insert(ident);
            }
        }
    }
    out
}

fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(&src).expect("under src");
        let first = rel.components().next().expect("a component");
        let module = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if module == "lib" {
            continue;
        }
        let source = std::fs::read_to_string(&file).expect("read source");
        let entry = graph.entry(module.clone()).or_default();
        for imported in imported_modules(&code_of(&source)) {
            if imported != module {
                entry.insert(imported);
            }
        }
    }
    graph
}

/// A cycle through `start`, if there is one.
fn cycle_from(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_owned(), vec![start.to_owned()])];
    let mut seen = BTreeSet::new();
    while let Some((node, path)) = stack.pop() {
        for next in graph.get(&node).into_iter().flatten() {
            if next == start {
                let mut cycle = path.clone();
                cycle.push(start.to_owned());
                return Some(cycle);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push((next.clone(), longer));
            }
        }
    }
    None
}

#[test]
fn shared_crate_modules_import_each_other_without_cycles() {
    let graph = module_graph();
    assert!(graph.len() > 10, "read too few modules: {graph:?}");
    for module in graph.keys() {
        if let Some(cycle) = cycle_from(&graph, module) {
            panic!("import cycle: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn domain_modules_never_import_the_wiring_or_the_http_layer() {
    let graph = module_graph();
    for (module, imports) in &graph {
        if OUTER.contains(&module.as_str()) {
            continue;
        }
        let outer: Vec<&String> = imports
            .iter()
            .filter(|i| OUTER.contains(&i.as_str()))
            .collect();
        assert!(outer.is_empty(), "`{module}` imports {outer:?}");
    }
}

#[test]
fn the_checker_sees_imports_and_cycles() {
    // The checks above would pass vacuously if the parser saw nothing: prove it sees both.
    let code = code_of(
        "use crate::{app::App, store};\n// crate::api in a comment\nfn f() { crate::model::x(); }",
    );
    assert_eq!(
        imported_modules(&code).into_iter().collect::<Vec<_>>(),
        ["app", "model", "store"]
    );
    let graph = BTreeMap::from([
        ("a".to_owned(), BTreeSet::from(["b".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["a".to_owned()])),
    ]);
    assert!(cycle_from(&graph, "a").is_some());
}
