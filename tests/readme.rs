//! The README's streaming examples are doctests: every Rust block in its
//! "Streaming messages" section appears, line for line, in a doc example of
//! `src/lib.rs` or `src/blocking/mod.rs` (which `cargo test` compiles and
//! runs), apart from the doctests' hidden `# ` lines.

use std::path::Path;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// The fenced blocks of a text, as their lines (fence lines excluded).
fn fenced_blocks(lines: &[String]) -> Vec<Vec<String>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in lines {
        if line.trim_start().starts_with("```") {
            match current.take() {
                Some(block) => blocks.push(block),
                None => current = Some(Vec::new()),
            }
        } else if let Some(block) = current.as_mut() {
            block.push(line.clone());
        }
    }
    blocks
}

/// The doc-comment lines (`//!`) of a source file, without the marker.
fn doc_lines(source: &str) -> Vec<String> {
    source
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l).to_owned())
        .collect()
}

#[test]
fn readme_streaming_examples_are_doctests() {
    let readme = read("README.md");
    let section = readme
        .split("## Streaming messages")
        .nth(1)
        .expect("README has a 'Streaming messages' section")
        .split("\n## ")
        .next()
        .unwrap();
    let readme_lines: Vec<String> = section.lines().map(str::to_owned).collect();
    let examples = fenced_blocks(&readme_lines);
    assert_eq!(examples.len(), 3, "receive, send, blocking");
    let mut doctests = fenced_blocks(&doc_lines(&read("src/lib.rs")));
    doctests.extend(fenced_blocks(&doc_lines(&read("src/blocking/mod.rs"))));
    for example in examples {
        let visible = |block: &Vec<String>| -> Vec<String> {
            block
                .iter()
                .filter(|l| !(l.starts_with("# ") || l.as_str() == "#"))
                .cloned()
                .collect()
        };
        assert!(
            doctests.iter().any(|d| visible(d) == example),
            "this README example is not a doctest:\n{}",
            example.join("\n")
        );
    }
}
