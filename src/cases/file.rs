//! Reading QTT files: `//` comments, `format` expansion and `{FORMAT}` substitution.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One QTT file.
#[derive(Debug, Deserialize)]
pub struct CaseFile {
    pub tests: Vec<TestCase>,
}

/// One test case, as written.
#[derive(Debug, Clone, Deserialize)]
pub struct TestCase {
    pub name: String,
    #[serde(default)]
    pub statements: Vec<String>,
    #[serde(default)]
    pub inputs: Vec<RecordSpec>,
    #[serde(default)]
    pub outputs: Vec<RecordSpec>,
    #[serde(default, rename = "expectedException")]
    pub expected_exception: Option<ExpectedException>,
    #[serde(default)]
    pub properties: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub format: Vec<String>,
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// Where the case came from, for reports.
    #[serde(skip)]
    pub origin: String,
}

fn enabled() -> bool {
    true
}

/// An input or expected output record.
#[derive(Debug, Clone, Deserialize)]
pub struct RecordSpec {
    pub topic: String,
    #[serde(default)]
    pub key: serde_json::Value,
    #[serde(default)]
    pub value: serde_json::Value,
    #[serde(default)]
    pub timestamp: Option<i64>,
    #[serde(default)]
    pub window: Option<WindowSpec>,
    #[serde(default)]
    pub headers: Option<Vec<serde_json::Value>>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct WindowSpec {
    pub start: i64,
    pub end: i64,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ExpectedException {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

/// Loads every case from the given files and folders (folders: every `*.json` inside, sorted).
pub fn load_cases(paths: &[PathBuf]) -> Result<Vec<TestCase>, String> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("cannot read {}: {e}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            entries.sort();
            files.extend(entries);
        } else {
            files.push(p.clone());
        }
    }
    let mut cases = Vec::new();
    for f in files {
        cases.extend(load_file(&f)?);
    }
    Ok(cases)
}

fn load_file(path: &Path) -> Result<Vec<TestCase>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let file: CaseFile = serde_json::from_str(&strip_comments(&text))
        .map_err(|e| format!("{} is not a valid case file: {e}", path.display()))?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut out = Vec::new();
    for mut case in file.tests {
        if !case.enabled {
            continue;
        }
        case.origin = format!("{stem} - {}", case.name);
        if case.format.is_empty() {
            out.push(case);
            continue;
        }
        for format in case.format.clone() {
            let mut variant = case.clone();
            variant.origin = format!("{} - {format}", case.origin);
            variant.statements = case.statements.iter().map(|s| s.replace("{FORMAT}", &format)).collect();
            out.push(variant);
        }
    }
    Ok(out)
}

/// Removes `//` line comments outside strings, so files can carry notes.
pub fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        if c == '"' {
            in_string = true;
            out.push(c);
        } else if c == '/' && chars.peek() == Some(&'/') {
            for d in chars.by_ref() {
                if d == '\n' {
                    out.push('\n');
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_stripped_outside_strings() {
        let t = "{\"a\": \"http://x\" // note\n}";
        assert_eq!(strip_comments(t), "{\"a\": \"http://x\" \n}");
    }
}
