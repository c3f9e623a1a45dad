//! Least privilege, derived and checked: the IAM actions scalefront's commands need, read from the
//! code and the templates, against the shipped policies.
//!
//! - `infra/policies/deployer.json`: `deploy`, `sign --rotate`, `purge`, `teardown` and doctor's
//!   `--set-log-retention` — every `aws` call in infra's sources outside `src/doctor/` (and in the
//!   CLI's, outside `doctor.rs`), plus what CloudFormation does with the deployer's credentials for
//!   each resource of every template (the resource types' handler permissions, and what
//!   associating Lambda@Edge takes).
//! - `infra/policies/doctor.json`: the calls in `src/doctor/` (and `cli/src/doctor.rs`); reads only.
//!
//! The calls are found by a small tokenizer over the Rust sources: arrays that start with a command
//! group and an operation (`["s3api", "put-object", …]`), and wrappers that take the operation as
//! an argument (`["cloudformation", op, …]` inside `fn call`, then `stack.call(aws,
//! "create-change-set", …)`). Each call becomes IAM actions through [`infra::aws::iam_actions`].
//!
//! The test fails naming every action a policy lacks and every action it holds that nothing needs;
//! `UPDATE_EXPECT=1 cargo test -p infra --test policies` rewrites both files from what it derived.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use infra::aws::{iam_actions, SERVICES};
use infra::template::Domain;
use infra::{render, Artifact, Mode, Params};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// A tokenizer for Rust source: string literals, identifiers, punctuation (comments, char literals
// and lifetimes skipped). Enough to find string-literal arrays and the calls around them.

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Str(String),
    Ident(String),
    Punct(char),
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    line: usize,
}

fn tokenize(src: &str) -> Vec<Token> {
    let c: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && at(i + 1) == '*' {
            i += 2;
            while i < c.len() && !(c[i] == '*' && at(i + 1) == '/') {
                line += usize::from(c[i] == '\n');
                i += 1;
            }
            i += 2;
        } else if ch == '"' {
            let start = line;
            let mut s = String::new();
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    i += 1;
                    match at(i) {
                        'n' => s.push('\n'),
                        't' => s.push('\t'),
                        '\n' => {
                            // A line continuation: the newline and the next line's indent go.
                            line += 1;
                            while at(i + 1).is_whitespace() {
                                line += usize::from(at(i + 1) == '\n');
                                i += 1;
                            }
                        }
                        other => s.push(other),
                    }
                } else {
                    line += usize::from(c[i] == '\n');
                    s.push(c[i]);
                }
                i += 1;
            }
            i += 1;
            out.push(Token {
                tok: Tok::Str(s),
                line: start,
            });
        } else if ch == '\'' {
            // A char literal ('a', '\n', '\'') or a lifetime ('a, 'static).
            if at(i + 1) == '\\' {
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1;
            }
        } else if ch.is_alphanumeric() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            let hashes = (0..).take_while(|&k| at(i + k) == '#').count();
            if (word == "r" || word == "br") && at(i + hashes) == '"' {
                // A raw string: r"…", r#"…"# (not a raw identifier, r#type).
                i += hashes + 1;
                let (start_line, mut s) = (line, String::new());
                loop {
                    if i >= c.len() {
                        break;
                    }
                    if c[i] == '"' && (1..=hashes).all(|k| at(i + k) == '#') {
                        i += 1 + hashes;
                        break;
                    }
                    line += usize::from(c[i] == '\n');
                    s.push(c[i]);
                    i += 1;
                }
                out.push(Token {
                    tok: Tok::Str(s),
                    line: start_line,
                });
            } else if word == "b" && at(i) == '"' {
                // A byte string: the next turn reads it as a string.
            } else {
                out.push(Token {
                    tok: Tok::Ident(word),
                    line,
                });
            }
        } else {
            out.push(Token {
                tok: Tok::Punct(ch),
                line,
            });
            i += 1;
        }
    }
    out
}

/// The tokens without the items under `#[cfg(test)]` (test modules call stand-ins, not AWS).
fn without_tests(toks: Vec<Token>) -> Vec<Token> {
    let is = |t: &Token, p: &Tok| &t.tok == p;
    let attr = [
        Tok::Punct('#'),
        Tok::Punct('['),
        Tok::Ident("cfg".into()),
        Tok::Punct('('),
        Tok::Ident("test".into()),
        Tok::Punct(')'),
        Tok::Punct(']'),
    ];
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if toks.len() - i >= attr.len() && attr.iter().enumerate().all(|(k, p)| is(&toks[i + k], p))
        {
            // Skip the item: up to its `;`, or its braces.
            i += attr.len();
            let mut depth = 0usize;
            while i < toks.len() {
                match toks[i].tok {
                    Tok::Punct('{') => depth += 1,
                    Tok::Punct('}') => {
                        depth -= 1;
                        if depth == 0 {
                            i += 1;
                            break;
                        }
                    }
                    Tok::Punct(';') if depth == 0 => {
                        i += 1;
                        break;
                    }
                    _ => {}
                }
                i += 1;
            }
            continue;
        }
        out.push(toks[i].clone());
        i += 1;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The calls in the sources.

/// One `aws <group> <op>` the code makes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Call {
    group: String,
    op: String,
    at: String,
    file: String,
    /// Where in the file's tokens (to find the function it is in).
    index: usize,
}

/// A function or closure that builds `[group, <its argument>, …]`: calls to it name the operation.
#[derive(Clone, Debug)]
struct Wrapper {
    name: String,
    group: String,
    file: String,
    line: usize,
    closure: bool,
}

#[derive(Debug, Default)]
struct Scan {
    calls: Vec<Call>,
    /// What the scanner could not read: a test failure each.
    problems: Vec<String>,
    /// `("CreateBucket", "false")` in the sources: deploy never lets a stack create the bucket.
    create_bucket_false: bool,
}

fn is_group(s: &str) -> bool {
    SERVICES.iter().any(|(g, _)| *g == s)
}

fn is_operation(s: &str) -> bool {
    !s.is_empty()
        && s.split('-').all(|w| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && s.starts_with(|c: char| c.is_ascii_lowercase())
}

/// `us-east-1`, `eu-west-1`, `us-gov-west-1`: a region passed where a wrapper's operation could be.
fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts.last().unwrap().chars().all(|c| c.is_ascii_digit())
}

/// The name of the function or closure a token sits in: the nearest `fn NAME` or `let NAME = |…|`
/// before it, and whether it is a closure.
fn enclosing(toks: &[Token], i: usize) -> Option<(String, bool)> {
    for j in (0..i).rev() {
        match (&toks[j].tok, toks.get(j + 1).map(|t| &t.tok)) {
            (Tok::Ident(k), Some(Tok::Ident(name))) if k == "fn" => {
                return Some((name.clone(), false))
            }
            (Tok::Ident(k), Some(Tok::Ident(name))) if k == "let" => {
                let (name, after) = match (name.as_str(), toks.get(j + 2).map(|t| &t.tok)) {
                    ("mut", Some(Tok::Ident(n))) => (n, j + 3),
                    _ => (name, j + 2),
                };
                let rest: Vec<&Tok> = toks[after.min(toks.len())..]
                    .iter()
                    .take(3)
                    .map(|t| &t.tok)
                    .collect();
                let closure = matches!(rest.as_slice(), [Tok::Punct('='), Tok::Punct('|'), ..])
                    || matches!(rest.as_slice(), [Tok::Punct('='), Tok::Ident(m), Tok::Punct('|')] if m == "move");
                if closure {
                    return Some((name.clone(), true));
                }
            }
            _ => {}
        }
    }
    None
}

/// Every call in `files` (path, source).
fn scan(files: &[(String, String)]) -> Scan {
    let mut s = Scan::default();
    let tokens: Vec<(String, Vec<Token>)> = files
        .iter()
        .map(|(f, src)| (f.clone(), without_tests(tokenize(src))))
        .collect();
    let mut wrappers: Vec<Wrapper> = Vec::new();
    for (file, toks) in &tokens {
        for i in 0..toks.len() {
            let at = |k: usize| toks.get(i + k).map(|t| &t.tok);
            if let (Some(Tok::Punct('[')), Some(Tok::Str(g))) = (at(0), at(1)) {
                if !is_group(g) {
                    continue;
                }
                let line = toks[i + 1].line;
                match (at(2), at(3)) {
                    (Some(Tok::Punct(',')), Some(Tok::Str(op))) => {
                        if is_operation(op) {
                            s.calls.push(Call {
                                group: g.clone(),
                                op: op.clone(),
                                at: format!("{file}:{line}"),
                                file: file.clone(),
                                index: i,
                            });
                        } else {
                            s.problems.push(format!(
                                "{file}:{line}: [\"{g}\", \"{op}\", …] is not a call this test can read"
                            ));
                        }
                    }
                    _ => match enclosing(toks, i) {
                        Some((name, closure)) => wrappers.push(Wrapper {
                            name,
                            group: g.clone(),
                            file: file.clone(),
                            line,
                            closure,
                        }),
                        None => s.problems.push(format!(
                            "{file}:{line}: an `aws {g}` call whose operation is not a string literal, outside any function this test can name"
                        )),
                    },
                }
            }
            if let (Some(Tok::Str(k)), Some(Tok::Punct(',')), Some(Tok::Str(v))) =
                (at(0), at(1), at(2))
            {
                if k == "CreateBucket" && v == "false" {
                    s.create_bucket_false = true;
                }
            }
        }
    }
    // The wrappers' call sites: NAME(["ident",] "operation" , or ).
    let mut used = vec![0usize; wrappers.len()];
    for (file, toks) in &tokens {
        for i in 0..toks.len() {
            let Tok::Ident(name) = &toks[i].tok else {
                continue;
            };
            if toks.get(i + 1).map(|t| &t.tok) != Some(&Tok::Punct('(')) {
                continue;
            }
            // Up to four plain arguments (`aws`, `&s.name`, `self`) before the operation.
            let mut k = i + 2;
            for _ in 0..4 {
                let mut j = k;
                while matches!(
                    toks.get(j).map(|t| &t.tok),
                    Some(Tok::Ident(_)) | Some(Tok::Punct('&')) | Some(Tok::Punct('.'))
                ) {
                    j += 1;
                }
                if j > k && toks.get(j).map(|t| &t.tok) == Some(&Tok::Punct(',')) {
                    k = j + 1;
                } else {
                    break;
                }
            }
            let Some(Tok::Str(op)) = toks.get(k).map(|t| &t.tok) else {
                continue;
            };
            if !matches!(
                toks.get(k + 1).map(|t| &t.tok),
                Some(Tok::Punct(',')) | Some(Tok::Punct(')'))
            ) || !is_operation(op)
                || is_region(op)
            {
                continue;
            }
            let method = i > 0 && toks[i - 1].tok == Tok::Punct('.');
            // A closure is called bare, in its own file; a function (or method) anywhere, this
            // file's first.
            let pick = |closure: bool, here: bool| -> Vec<usize> {
                (0..wrappers.len())
                    .filter(|&w| {
                        wrappers[w].name == *name
                            && wrappers[w].closure == closure
                            && (!here || wrappers[w].file == *file)
                    })
                    .collect()
            };
            let candidates = [
                (!method).then(|| pick(true, true)),
                Some(pick(false, true)),
                Some(pick(false, false)),
            ]
            .into_iter()
            .flatten()
            .find(|c| !c.is_empty())
            .unwrap_or_default();
            let groups: BTreeSet<&str> = candidates
                .iter()
                .map(|&w| wrappers[w].group.as_str())
                .collect();
            let line = toks[k].line;
            match groups.len() {
                0 => {}
                1 => {
                    for &w in &candidates {
                        used[w] += 1;
                    }
                    s.calls.push(Call {
                        group: groups.into_iter().next().unwrap().to_owned(),
                        op: op.clone(),
                        at: format!("{file}:{line} (through {name})"),
                        file: file.clone(),
                        index: i,
                    });
                }
                _ => s.problems.push(format!(
                    "{file}:{line}: {name}(…, \"{op}\") could be `aws {}`: name the group in the call's array",
                    groups.into_iter().collect::<Vec<_>>().join("` or `aws ")
                )),
            }
        }
    }
    for (w, n) in wrappers.iter().zip(&used) {
        if *n == 0 {
            s.problems.push(format!(
                "{}:{}: {} builds an `aws {}` call from an argument, but no call to it names the operation as a string literal",
                w.file, w.line, w.name, w.group
            ));
        }
    }
    s.calls.sort();
    s.calls.dedup();
    s
}

// ---------------------------------------------------------------------------------------------
// Which functions reach which: doctor's calls include those it makes through other modules
// (`dom::records_named(aws, …)` lists Route 53 records from infra/src/domain.rs).

/// A function's body in a file's tokens.
#[derive(Clone, Debug)]
struct FnDef {
    file: String,
    name: String,
    start: usize,
    end: usize,
}

/// `infra/src/deploy/mod.rs` → (`infra/src`, `deploy`); `infra/src/doctor/collect.rs` →
/// (`infra/src`, `doctor::collect`).
fn module_of(file: &str) -> (String, String) {
    let (root, rest) = ["infra/src/", "cli/src/"]
        .iter()
        .find_map(|r| {
            file.strip_prefix(r)
                .map(|rest| (r.trim_end_matches('/'), rest))
        })
        .unwrap_or(("", file));
    let rest = rest.trim_end_matches(".rs");
    let rest = rest.strip_suffix("/mod").unwrap_or(rest);
    let module = if ["lib", "main"].contains(&rest) {
        String::new()
    } else {
        rest.replace('/', "::")
    };
    (root.to_owned(), module)
}

fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_owned(),
        (_, true) => a.to_owned(),
        _ => format!("{a}::{b}"),
    }
}

fn functions(file: &str, toks: &[Token]) -> Vec<FnDef> {
    let mut out = Vec::new();
    for i in 0..toks.len() {
        let (Tok::Ident(k), Some(Tok::Ident(name))) =
            (&toks[i].tok, toks.get(i + 1).map(|t| &t.tok))
        else {
            continue;
        };
        if k != "fn" {
            continue;
        }
        let Some(open) =
            (i + 2..toks.len()).find(|&j| matches!(toks[j].tok, Tok::Punct('{') | Tok::Punct(';')))
        else {
            continue;
        };
        if toks[open].tok == Tok::Punct(';') {
            continue;
        }
        let mut depth = 0usize;
        let mut end = toks.len();
        for (j, t) in toks.iter().enumerate().skip(open) {
            match t.tok {
                Tok::Punct('{') => depth += 1,
                Tok::Punct('}') => {
                    depth -= 1;
                    if depth == 0 {
                        end = j;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push(FnDef {
            file: file.to_owned(),
            name: name.clone(),
            start: open,
            end,
        });
    }
    out
}

/// A file's `use crate::…` lines: names that stand for a module (`dom` → `domain`), and names
/// that stand for a function of one (`records_named` → (`domain`, `records_named`)).
#[derive(Default)]
struct Uses {
    modules: BTreeMap<String, String>,
    functions: BTreeMap<String, (String, String)>,
}

fn uses(toks: &[Token], here: &str) -> Uses {
    let mut u = Uses::default();
    let ident = |t: Option<&Token>| match t.map(|t| &t.tok) {
        Some(Tok::Ident(s)) => Some(s.clone()),
        _ => None,
    };
    let colons = |j: usize| {
        toks.get(j).map(|t| &t.tok) == Some(&Tok::Punct(':'))
            && toks.get(j + 1).map(|t| &t.tok) == Some(&Tok::Punct(':'))
    };
    for i in 0..toks.len() {
        if ident(toks.get(i)).as_deref() != Some("use") {
            continue;
        }
        let base = match ident(toks.get(i + 1)).as_deref() {
            Some("crate") => String::new(),
            Some("super") => here
                .rsplit_once("::")
                .map_or(String::new(), |(p, _)| p.to_owned()),
            Some("self") => here.to_owned(),
            _ => continue,
        };
        let mut path: Vec<String> = Vec::new();
        let mut j = i + 2;
        let mut group = false;
        while colons(j) {
            match toks.get(j + 2).map(|t| &t.tok) {
                Some(Tok::Ident(seg)) => {
                    path.push(seg.clone());
                    j += 3;
                }
                Some(Tok::Punct('{')) => {
                    group = true;
                    j += 3;
                    break;
                }
                _ => break,
            }
        }
        if group {
            // use crate::m::{self as x, f, g as h};
            let module = join(&base, &path.join("::"));
            let mut items: Vec<Vec<String>> = vec![Vec::new()];
            while let Some(t) = toks.get(j) {
                match &t.tok {
                    Tok::Punct('}') => break,
                    Tok::Punct(',') => items.push(Vec::new()),
                    Tok::Ident(w) => items.last_mut().unwrap().push(w.clone()),
                    _ => {}
                }
                j += 1;
            }
            for item in items {
                let (name, alias) = match item.as_slice() {
                    [n] => (n.clone(), n.clone()),
                    [n, a, x] if a == "as" => (n.clone(), x.clone()),
                    _ => continue,
                };
                if name == "self" {
                    let alias = if item.len() == 1 {
                        module.rsplit("::").next().unwrap_or("").to_owned()
                    } else {
                        alias
                    };
                    u.modules.insert(alias, module.clone());
                } else {
                    u.functions
                        .insert(alias.clone(), (module.clone(), name.clone()));
                    u.modules.insert(alias, join(&module, &name));
                }
            }
        } else if let Some(last) = path.pop() {
            // use crate::m::f; (a function or a module: both are recorded)
            let parent = join(&base, &path.join("::"));
            u.functions
                .insert(last.clone(), (parent.clone(), last.clone()));
            u.modules.insert(last.clone(), join(&parent, &last));
        }
    }
    u
}

/// The functions each function calls by name (paths, imports, or its own module's), as indices
/// into `defs`. Method calls (`x.f()`) are not followed.
fn call_graph(files: &[(String, Vec<Token>)], defs: &[FnDef]) -> Vec<BTreeSet<usize>> {
    let mut by_module: BTreeMap<(String, String, String), Vec<usize>> = BTreeMap::new();
    for (k, d) in defs.iter().enumerate() {
        let (root, module) = module_of(&d.file);
        by_module
            .entry((root, module, d.name.clone()))
            .or_default()
            .push(k);
    }
    let lookup = |root: &str, module: &str, name: &str| {
        by_module
            .get(&(root.to_owned(), module.to_owned(), name.to_owned()))
            .cloned()
            .unwrap_or_default()
    };
    let mut edges = vec![BTreeSet::new(); defs.len()];
    for (file, toks) in files {
        let (root, here) = module_of(file);
        let u = uses(toks, &here);
        let colons = |j: usize| {
            j >= 2 && toks[j - 1].tok == Tok::Punct(':') && toks[j - 2].tok == Tok::Punct(':')
        };
        for (k, d) in defs.iter().enumerate().filter(|(_, d)| d.file == *file) {
            for i in d.start..d.end {
                let (Tok::Ident(name), Some(Tok::Punct('('))) =
                    (&toks[i].tok, toks.get(i + 1).map(|t| &t.tok))
                else {
                    continue;
                };
                let targets = if colons(i) {
                    // a::b::name(: walk the path back.
                    let mut segs = Vec::new();
                    let mut j = i;
                    while colons(j) && j >= 3 {
                        let Tok::Ident(seg) = &toks[j - 3].tok else {
                            break;
                        };
                        segs.push(seg.clone());
                        j -= 3;
                    }
                    segs.reverse();
                    let Some((first, rest)) = segs.split_first() else {
                        continue;
                    };
                    let rest = rest.join("::");
                    let (root, module) = match first.as_str() {
                        "crate" => (root.clone(), rest),
                        "infra" => ("infra/src".to_owned(), rest),
                        "super" => (
                            root.clone(),
                            join(here.rsplit_once("::").map_or("", |(p, _)| p), &rest),
                        ),
                        "self" => (root.clone(), join(&here, &rest)),
                        alias => match u.modules.get(alias) {
                            Some(m) => (root.clone(), join(m, &rest)),
                            None => continue,
                        },
                    };
                    lookup(&root, &module, name)
                } else if i > 0 && toks[i - 1].tok == Tok::Punct('.') {
                    continue;
                } else {
                    match u.functions.get(name) {
                        Some((m, f)) => lookup(&root, m, f),
                        None => lookup(&root, &here, name),
                    }
                };
                edges[k].extend(targets);
            }
        }
    }
    edges
}

// ---------------------------------------------------------------------------------------------
// The templates: each resource CloudFormation creates, updates or deletes with the deployer's
// credentials, and what that takes.

#[derive(Clone, Debug)]
struct Resource {
    template: String,
    logical: String,
    ty: String,
    props: Value,
    condition: Option<String>,
    conditions: Value,
}

fn resources_of(template: &str, doc: &Value) -> Vec<Resource> {
    doc["Resources"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(logical, r)| Resource {
            template: template.to_owned(),
            logical: logical.clone(),
            ty: r["Type"].as_str().unwrap_or("").to_owned(),
            props: r["Properties"].clone(),
            condition: r["Condition"].as_str().map(str::to_owned),
            conditions: doc["Conditions"].clone(),
        })
        .collect()
}

/// A raw template as YAML: a `{{placeholder}}` alone on its line (a block the renderer writes)
/// goes, any other becomes a plain value.
fn neutralized(raw: &str) -> String {
    raw.lines()
        .filter(|l| {
            let t = l.trim();
            !(t.starts_with("{{") && t.ends_with("}}") && t.matches("{{").count() == 1)
        })
        .map(|l| {
            let mut out = String::new();
            let mut rest = l;
            while let Some(start) = rest.find("{{") {
                out.push_str(&rest[..start]);
                match rest[start..].find("}}") {
                    Some(end) => {
                        out.push('x');
                        rest = &rest[start + end + 2..];
                    }
                    None => {
                        rest = &rest[start..];
                        break;
                    }
                }
            }
            out.push_str(rest);
            out
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether a condition can hold for a stack deploy makes: only `CreateBucket` is known (deploy
/// passes `false`); everything else may go either way. `Some(false)`: never.
fn condition_value(expr: &Value, conditions: &Value, create_bucket_false: bool) -> Option<bool> {
    let operand = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Object(o) if o.get("Ref").and_then(Value::as_str) == Some("CreateBucket") => {
                create_bucket_false.then(|| "false".to_owned())
            }
            _ => None,
        }
    };
    let o = expr.as_object()?;
    if let Some(Value::Array(a)) = o.get("Fn::Equals") {
        return Some(operand(a.first()?)? == operand(a.get(1)?)?);
    }
    if let Some(Value::Array(a)) = o.get("Fn::Not") {
        return condition_value(a.first()?, conditions, create_bucket_false).map(|b| !b);
    }
    if let Some(Value::Array(a)) = o.get("Fn::And") {
        let v: Vec<Option<bool>> = a
            .iter()
            .map(|e| condition_value(e, conditions, create_bucket_false))
            .collect();
        return if v.contains(&Some(false)) {
            Some(false)
        } else if v.iter().all(|b| *b == Some(true)) {
            Some(true)
        } else {
            None
        };
    }
    if let Some(Value::Array(a)) = o.get("Fn::Or") {
        let v: Vec<Option<bool>> = a
            .iter()
            .map(|e| condition_value(e, conditions, create_bucket_false))
            .collect();
        return if v.contains(&Some(true)) {
            Some(true)
        } else if v.iter().all(|b| *b == Some(false)) {
            Some(false)
        } else {
            None
        };
    }
    if let Some(Value::String(name)) = o.get("Condition") {
        return condition_value(&conditions[name.as_str()], conditions, create_bucket_false);
    }
    None
}

/// Whether `key` appears anywhere in `v` (a property set, `Fn::If` branches included) with a
/// value other than an empty list.
fn has_key(v: &Value, key: &str) -> bool {
    match v {
        Value::Object(o) => o.iter().any(|(k, x)| {
            (k == key && !matches!(x, Value::Array(a) if a.is_empty())) || has_key(x, key)
        }),
        Value::Array(a) => a.iter().any(|x| has_key(x, key)),
        _ => false,
    }
}

/// The permissions of each resource type's CloudFormation handlers (create, read, update, delete),
/// from the resource type schemas (the CloudFormation registry's `handlers.*.permissions`, as
/// `aws cloudformation describe-type --type RESOURCE --type-name …` returns them; read here from
/// the copies in hashicorp/terraform-provider-awscc, internal/service/cloudformation/schemas/).
/// CloudFormation calls these with the credentials of whoever runs the stack operation.
const HANDLERS: &[(&str, &[&str])] = &[
    (
        "AWS::CloudFront::CachePolicy",
        &[
            "cloudfront:CreateCachePolicy",
            "cloudfront:DeleteCachePolicy",
            "cloudfront:GetCachePolicy",
            "cloudfront:UpdateCachePolicy",
        ],
    ),
    (
        "AWS::CloudFront::Distribution",
        &[
            "cloudfront:CreateConnectionGroup",
            "cloudfront:CreateDistribution",
            "cloudfront:CreateDistributionWithTags",
            "cloudfront:DeleteDistribution",
            "cloudfront:GetConnectionGroup",
            "cloudfront:GetDistribution",
            "cloudfront:GetDistributionConfig",
            "cloudfront:GetVpcOrigin",
            "cloudfront:ListTagsForResource",
            "cloudfront:TagResource",
            "cloudfront:UntagResource",
            "cloudfront:UpdateDistribution",
            "cloudfront:UpdateDistributionWithStagingConfig",
        ],
    ),
    (
        "AWS::CloudFront::Function",
        &[
            "cloudfront:CreateFunction",
            "cloudfront:DeleteFunction",
            "cloudfront:DescribeFunction",
            "cloudfront:GetFunction",
            "cloudfront:ListTagsForResource",
            "cloudfront:PublishFunction",
            "cloudfront:TagResource",
            "cloudfront:UntagResource",
            "cloudfront:UpdateFunction",
        ],
    ),
    (
        "AWS::CloudFront::KeyValueStore",
        &[
            "cloudfront:CreateKeyValueStore",
            "cloudfront:DeleteKeyValueStore",
            "cloudfront:DescribeKeyValueStore",
            "cloudfront:ListTagsForResource",
            "cloudfront:TagResource",
            "cloudfront:UntagResource",
            "cloudfront:UpdateKeyValueStore",
            "s3:GetBucketLocation",
            "s3:GetObject",
            // The schema also lists s3:HeadObject, which is no IAM action: S3 authorizes HeadObject
            // with s3:GetObject.
        ],
    ),
    (
        "AWS::CloudFront::OriginAccessControl",
        &[
            "cloudfront:CreateOriginAccessControl",
            "cloudfront:DeleteOriginAccessControl",
            "cloudfront:GetOriginAccessControl",
            "cloudfront:UpdateOriginAccessControl",
        ],
    ),
    (
        "AWS::CloudFront::ResponseHeadersPolicy",
        &[
            "cloudfront:CreateResponseHeadersPolicy",
            "cloudfront:DeleteResponseHeadersPolicy",
            "cloudfront:GetResponseHeadersPolicy",
            "cloudfront:UpdateResponseHeadersPolicy",
        ],
    ),
    (
        "AWS::Events::Rule",
        &[
            "events:DeleteRule",
            "events:DescribeRule",
            "events:ListTargetsByRule",
            "events:PutRule",
            "events:PutTargets",
            "events:RemoveTargets",
            "iam:PassRole",
        ],
    ),
    (
        "AWS::IAM::Role",
        &[
            "iam:AttachRolePolicy",
            "iam:CreateRole",
            "iam:DeleteRole",
            "iam:DeleteRolePermissionsBoundary",
            "iam:DeleteRolePolicy",
            "iam:DetachRolePolicy",
            "iam:GetRole",
            "iam:GetRolePolicy",
            "iam:ListAttachedRolePolicies",
            "iam:ListRolePolicies",
            "iam:PutRolePermissionsBoundary",
            "iam:PutRolePolicy",
            "iam:TagRole",
            "iam:UntagRole",
            "iam:UpdateAssumeRolePolicy",
            "iam:UpdateRole",
            "iam:UpdateRoleDescription",
        ],
    ),
    (
        "AWS::IAM::RolePolicy",
        &[
            "iam:DeleteRolePolicy",
            "iam:GetRolePolicy",
            "iam:PutRolePolicy",
        ],
    ),
    (
        "AWS::Lambda::Function",
        &[
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSubnets",
            "ec2:DescribeVpcs",
            "elasticfilesystem:DescribeMountTargets",
            "iam:PassRole",
            "kms:CreateGrant",
            "kms:Decrypt",
            "kms:Encrypt",
            "kms:GenerateDataKey",
            "lambda:CreateFunction",
            "lambda:DeleteFunction",
            "lambda:DeleteFunctionCodeSigningConfig",
            "lambda:DeleteFunctionConcurrency",
            "lambda:GetCodeSigningConfig",
            "lambda:GetFunction",
            "lambda:GetFunctionCodeSigningConfig",
            "lambda:GetFunctionRecursionConfig",
            "lambda:GetLayerVersion",
            "lambda:GetRuntimeManagementConfig",
            "lambda:PutFunctionCodeSigningConfig",
            "lambda:PutFunctionConcurrency",
            "lambda:PutFunctionRecursionConfig",
            "lambda:PutRuntimeManagementConfig",
            "lambda:TagResource",
            "lambda:UntagResource",
            "lambda:UpdateFunctionCode",
            "lambda:UpdateFunctionConfiguration",
            "s3:GetObject",
            "s3:GetObjectVersion",
        ],
    ),
    (
        "AWS::Lambda::Permission",
        &[
            "lambda:AddPermission",
            "lambda:GetPolicy",
            "lambda:RemovePermission",
        ],
    ),
    (
        "AWS::Lambda::Url",
        &[
            "lambda:CreateFunctionUrlConfig",
            "lambda:DeleteFunctionUrlConfig",
            "lambda:GetFunctionUrlConfig",
            "lambda:UpdateFunctionUrlConfig",
        ],
    ),
    (
        "AWS::Lambda::Version",
        &[
            "lambda:DeleteFunction",
            "lambda:GetFunctionConfiguration",
            "lambda:GetFunctionScalingConfig",
            "lambda:GetProvisionedConcurrencyConfig",
            "lambda:GetRuntimeManagementConfig",
            "lambda:ListVersionsByFunction",
            "lambda:PublishVersion",
            "lambda:PutFunctionScalingConfig",
            "lambda:PutProvisionedConcurrencyConfig",
            "lambda:PutRuntimeManagementConfig",
        ],
    ),
    (
        "AWS::S3::BucketPolicy",
        &[
            "s3:DeleteBucketPolicy",
            "s3:GetBucketPolicy",
            "s3:PutBucketPolicy",
        ],
    ),
];

/// Handler permissions that serve one optional feature of the resource: needed only when one of
/// the properties is set. (A template that starts using, say, `VpcConfig` brings them back.)
const ONLY_WITH: &[(&str, &str, &[&str])] = &[
    (
        "AWS::CloudFront::Distribution",
        "cloudfront:CreateConnectionGroup",
        &["ConnectionMode", "TenantConfig"],
    ),
    (
        "AWS::CloudFront::Distribution",
        "cloudfront:GetConnectionGroup",
        &["ConnectionMode", "TenantConfig"],
    ),
    (
        "AWS::CloudFront::Distribution",
        "cloudfront:GetVpcOrigin",
        &["VpcOriginConfig"],
    ),
    (
        "AWS::CloudFront::Distribution",
        "cloudfront:UpdateDistributionWithStagingConfig",
        &["ContinuousDeploymentPolicyId", "Staging"],
    ),
    (
        "AWS::CloudFront::KeyValueStore",
        "s3:GetObject",
        &["ImportSource"],
    ),
    (
        "AWS::CloudFront::KeyValueStore",
        "s3:GetBucketLocation",
        &["ImportSource"],
    ),
    // A role only for targets that need one (Kinesis, ECS, another bus); Lambda targets use the
    // function's resource policy.
    ("AWS::Events::Rule", "iam:PassRole", &["RoleArn"]),
    (
        "AWS::IAM::Role",
        "iam:PutRolePermissionsBoundary",
        &["PermissionsBoundary"],
    ),
    (
        "AWS::IAM::Role",
        "iam:DeleteRolePermissionsBoundary",
        &["PermissionsBoundary"],
    ),
    (
        "AWS::Lambda::Function",
        "ec2:DescribeNetworkInterfaces",
        &["VpcConfig"],
    ),
    (
        "AWS::Lambda::Function",
        "ec2:DescribeSecurityGroups",
        &["VpcConfig"],
    ),
    (
        "AWS::Lambda::Function",
        "ec2:DescribeSubnets",
        &["VpcConfig"],
    ),
    ("AWS::Lambda::Function", "ec2:DescribeVpcs", &["VpcConfig"]),
    (
        "AWS::Lambda::Function",
        "elasticfilesystem:DescribeMountTargets",
        &["FileSystemConfigs"],
    ),
    (
        "AWS::Lambda::Function",
        "kms:CreateGrant",
        &["KmsKeyArn", "SourceKMSKeyArn"],
    ),
    (
        "AWS::Lambda::Function",
        "kms:Decrypt",
        &["KmsKeyArn", "SourceKMSKeyArn"],
    ),
    (
        "AWS::Lambda::Function",
        "kms:Encrypt",
        &["KmsKeyArn", "SourceKMSKeyArn"],
    ),
    (
        "AWS::Lambda::Function",
        "kms:GenerateDataKey",
        &["KmsKeyArn", "SourceKMSKeyArn"],
    ),
    (
        "AWS::Lambda::Function",
        "lambda:GetLayerVersion",
        &["Layers"],
    ),
    (
        "AWS::Lambda::Function",
        "lambda:GetCodeSigningConfig",
        &["CodeSigningConfigArn"],
    ),
    (
        "AWS::Lambda::Function",
        "lambda:PutFunctionCodeSigningConfig",
        &["CodeSigningConfigArn"],
    ),
    (
        "AWS::Lambda::Function",
        "lambda:DeleteFunctionCodeSigningConfig",
        &["CodeSigningConfigArn"],
    ),
    (
        "AWS::Lambda::Function",
        "s3:GetObjectVersion",
        &["S3ObjectVersion"],
    ),
    (
        "AWS::Lambda::Version",
        "lambda:PutProvisionedConcurrencyConfig",
        &["ProvisionedConcurrencyConfig"],
    ),
    (
        "AWS::Lambda::Version",
        "lambda:PutFunctionScalingConfig",
        &["FunctionScalingConfig"],
    ),
];

/// What associating a Lambda@Edge function with a distribution takes besides the distribution's
/// own permissions: CloudFront Developer Guide, "Set up IAM permissions and roles for Lambda@Edge"
/// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-edge-permissions.html):
/// lambda:GetFunction, lambda:EnableReplication* and lambda:DisableReplication* (with the asterisk)
/// on the function version, and iam:CreateServiceLinkedRole the first time (the replicator's and
/// CloudFront's logger's service-linked roles).
const LAMBDA_EDGE: &[&str] = &[
    "iam:CreateServiceLinkedRole",
    "lambda:DisableReplication*",
    "lambda:EnableReplication*",
    "lambda:GetFunction",
];

/// The actions CloudFormation needs for one resource; `Err`: a type this test has no permissions
/// for.
fn resource_actions(r: &Resource) -> Result<BTreeSet<String>, String> {
    let (_, all) = HANDLERS
        .iter()
        .find(|(t, _)| *t == r.ty)
        .ok_or_else(|| format!("{} {} ({}): no handler permissions known for this resource type; add them to HANDLERS in infra/tests/policies.rs from its schema (aws cloudformation describe-type --type RESOURCE --type-name {})", r.ty, r.logical, r.template, r.ty))?;
    let mut out: BTreeSet<String> = all
        .iter()
        .filter(|a| {
            ONLY_WITH
                .iter()
                .filter(|(t, x, _)| *t == r.ty && x == *a)
                .all(|(_, _, props)| props.iter().any(|p| has_key(&r.props, p)))
        })
        .map(|a| a.to_string())
        .collect();
    if r.ty == "AWS::CloudFront::Distribution" && has_key(&r.props, "LambdaFunctionAssociations") {
        out.extend(LAMBDA_EDGE.iter().map(|a| a.to_string()));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Gathering it all.

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Which policy a source file's calls belong to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Policy {
    Deployer,
    Doctor,
}

/// infra's and the CLI's sources, by path from the checkout's root.
fn sources() -> Vec<(String, String)> {
    let mut files = Vec::new();
    rust_files(&root().join("infra/src"), &mut files);
    rust_files(&root().join("cli/src"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(root())
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// Renders with every optional part on (signed URLs, an SSE-KMS key, a domain), as deploy can.
fn params() -> Params {
    Params {
        stack_name: "scalefront-photos".into(),
        bucket: "example-photos".into(),
        bucket_region: "eu-west-1".into(),
        create_bucket: false,
        prefix: "_sf".into(),
        // A signed function reads the KeyValueStore (and so imports cf).
        viewer_function_code: "import cf from 'cloudfront';\nasync function handler(event) {\n  return event.request;\n}\n".into(),
        spec_fingerprint: "spec-v1".into(),
        artifact_bucket: Some("scalefront-artifacts-123456789012".into()),
        edge_package: Artifact::of("origin-response", b"edge zip bytes"),
        regional_package: Artifact::of("regional", b"regional zip bytes"),
        memory_mb: infra::template::DEFAULT_MEMORY_MB,
        test_key: "photos/a.jpg".into(),
        negotiates_format: true,
        origin_shield: Some("eu-west-1".into()),
        signing_keys_object: Some("keys/scalefront-photos.json".into()),
        read_scope: "photos/".into(),
        kms_key_arn: Some("arn:aws:kms:eu-west-1:123456789012:key/k1".into()),
        domain: Some(Domain {
            name: "images.example.com".into(),
            certificate_arn: "arn:aws:acm:us-east-1:123456789012:certificate/c1".into(),
        }),
    }
}

/// Every template's resources: both renders, and every file in infra/templates (so a template
/// rendered by a function this test does not call is read too).
fn all_resources() -> Vec<Resource> {
    let mut out = Vec::new();
    for mode in [Mode::Edge, Mode::Regional] {
        let text = render(mode, &params()).expect("renders");
        let doc: Value = serde_norway::from_str(&text).expect("a rendered template is YAML");
        out.extend(resources_of(
            &format!("rendered {}", mode.file_name()),
            &doc,
        ));
    }
    let mut raw: Vec<PathBuf> = std::fs::read_dir(root().join("infra/templates"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    raw.sort();
    for p in raw {
        let name = format!(
            "infra/templates/{}",
            p.file_name().unwrap().to_string_lossy()
        );
        let text = std::fs::read_to_string(&p).unwrap();
        let doc: Value = serde_norway::from_str(&neutralized(&text)).unwrap_or_else(|e| {
            panic!("{name} with its placeholders neutralized is not YAML: {e}")
        });
        out.extend(resources_of(&name, &doc));
    }
    out
}

/// The actions a policy must hold, each with where it comes from; and what could not be read.
struct Derived {
    actions: BTreeMap<String, BTreeSet<String>>,
    problems: Vec<String>,
    skipped: Vec<String>,
    /// Doctor: writes its code reaches only on request (a flag), with where.
    on_request: BTreeMap<String, BTreeSet<String>>,
}

/// The calls a policy covers: the deployer's are every call outside doctor's files; doctor's are
/// the calls of its own functions and of every function they reach in other modules, less the
/// writes it makes only on request (`--set-log-retention`: returned apart).
fn calls_of(policy: Policy, s: &Scan, files: &[(String, String)]) -> (Vec<Call>, Vec<Call>) {
    let doctor_file = |f: &str| f.starts_with("infra/src/doctor/") || f == "cli/src/doctor.rs";
    match policy {
        Policy::Deployer => (
            s.calls
                .iter()
                .filter(|c| !doctor_file(&c.file))
                .cloned()
                .collect(),
            Vec::new(),
        ),
        Policy::Doctor => {
            let toks: Vec<(String, Vec<Token>)> = files
                .iter()
                .map(|(f, src)| (f.clone(), without_tests(tokenize(src))))
                .collect();
            let defs: Vec<FnDef> = toks.iter().flat_map(|(f, t)| functions(f, t)).collect();
            let edges = call_graph(&toks, &defs);
            let mut reached: BTreeSet<usize> = (0..defs.len())
                .filter(|&k| doctor_file(&defs[k].file))
                .collect();
            let mut todo: Vec<usize> = reached.iter().copied().collect();
            while let Some(k) = todo.pop() {
                for &n in &edges[k] {
                    if reached.insert(n) {
                        todo.push(n);
                    }
                }
            }
            // The innermost function around each call.
            let home = |c: &Call| {
                (0..defs.len())
                    .filter(|&k| {
                        defs[k].file == c.file && defs[k].start <= c.index && c.index <= defs[k].end
                    })
                    .min_by_key(|&k| defs[k].end - defs[k].start)
            };
            let mut own = Vec::new();
            let mut on_request = Vec::new();
            for c in &s.calls {
                let inside = doctor_file(&c.file) || home(c).is_some_and(|k| reached.contains(&k));
                if !inside {
                    continue;
                }
                let writes = iam_actions(&c.group, &c.op)
                    .unwrap_or_default()
                    .iter()
                    .any(|a| !reads(a));
                if writes && !doctor_file(&c.file) {
                    on_request.push(c.clone());
                } else {
                    own.push(c.clone());
                }
            }
            (own, on_request)
        }
    }
}

/// Get*, List*, Describe*: an action that changes nothing.
fn reads(action: &str) -> bool {
    action
        .split_once(':')
        .is_some_and(|(_, n)| ["Get", "List", "Describe"].iter().any(|p| n.starts_with(p)))
}

fn derive(policy: Policy) -> Derived {
    let files = sources();
    let s = scan(&files);
    let (calls, on_request) = calls_of(policy, &s, &files);
    let mut d = Derived {
        actions: BTreeMap::new(),
        problems: s.problems.clone(),
        skipped: Vec::new(),
        on_request: BTreeMap::new(),
    };
    for c in &on_request {
        for a in iam_actions(&c.group, &c.op).unwrap_or_default() {
            d.on_request
                .entry(a)
                .or_default()
                .insert(format!("aws {} {} ({})", c.group, c.op, c.at));
        }
    }
    for c in &calls {
        match iam_actions(&c.group, &c.op) {
            Some(actions) => {
                for a in actions {
                    d.actions
                        .entry(a)
                        .or_default()
                        .insert(format!("aws {} {} ({})", c.group, c.op, c.at));
                }
            }
            None => d.problems.push(format!(
                "{}: `aws {} {}` has no IAM mapping: add it to infra::aws::iam_actions (S3: its table) from the Service Authorization Reference",
                c.at, c.group, c.op
            )),
        }
    }
    if policy == Policy::Deployer {
        for r in all_resources() {
            if let Some(cond) = &r.condition {
                let expr = &r.conditions[cond.as_str()];
                if condition_value(expr, &r.conditions, s.create_bucket_false) == Some(false) {
                    d.skipped.push(format!(
                        "{} {} ({}): condition {cond} never holds for a stack deploy makes",
                        r.ty, r.logical, r.template
                    ));
                    continue;
                }
            }
            match resource_actions(&r) {
                Ok(actions) => {
                    for a in actions {
                        d.actions
                            .entry(a)
                            .or_default()
                            .insert(format!("CloudFormation: {} {}", r.ty, r.logical));
                    }
                }
                Err(e) => d.problems.push(e),
            }
        }
    }
    d.problems.sort();
    d.problems.dedup();
    d.skipped.sort();
    d.skipped.dedup();
    d
}

// ---------------------------------------------------------------------------------------------
// The policy documents, made from the actions.

/// Where each group of actions may act. Resources are scoped where the names are scalefront's
/// own: stacks and functions `scalefront-*` (the default stack name, `scalefront-<bucket>`; the
/// function stack is `<stack>-fn`, roles are named after their stack), the artifacts buckets, the
/// photo bucket (PHOTO_BUCKET: replace it with yours). CloudFront, ACM and Route 53 resources get
/// generated ids, so those statements name `*`.
fn statement_for(action: &str) -> (&'static str, Value, Option<Value>) {
    let service = action.split(':').next().unwrap_or("");
    match (service, action) {
        (_, "iam:PassRole") => (
            "PassTheFunctionRolesToLambda",
            json!("arn:aws:iam::*:role/scalefront-*"),
            Some(json!({"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}})),
        ),
        (_, "iam:CreateServiceLinkedRole") => (
            "LambdaEdgeServiceLinkedRoles",
            json!("arn:aws:iam::*:role/aws-service-role/*"),
            Some(json!({"StringEquals": {"iam:AWSServiceName": [
                "replicator.lambda.amazonaws.com",
                "logger.cloudfront.amazonaws.com"
            ]}})),
        ),
        ("iam", _) => (
            "TheFunctionRoles",
            json!("arn:aws:iam::*:role/scalefront-*"),
            None,
        ),
        // Teardown looks through every stack of the region for other users of a package
        // (describe-stacks with no name, get-template): reads go to all stacks.
        ("cloudformation", a)
            if ["Describe", "Get", "List"]
                .iter()
                .any(|p| a["cloudformation:".len()..].starts_with(p)) =>
        {
            ("ReadStacks", json!("*"), None)
        }
        ("cloudformation", _) => (
            "TheStacks",
            json!([
                "arn:aws:cloudformation:*:*:stack/scalefront-*/*",
                "arn:aws:cloudformation:*:*:changeSet/scalefront-*/*"
            ]),
            None,
        ),
        ("s3", _) => (
            "ThePhotoAndArtifactsBuckets",
            json!([
                "arn:aws:s3:::PHOTO_BUCKET",
                "arn:aws:s3:::PHOTO_BUCKET/*",
                "arn:aws:s3:::scalefront-artifacts-*",
                "arn:aws:s3:::scalefront-artifacts-*/*"
            ]),
            None,
        ),
        ("lambda", _) => (
            "TheFunctions",
            json!("arn:aws:lambda:*:*:function:scalefront-*"),
            None,
        ),
        ("kms", _) => ("TheBucketKey", json!("arn:aws:kms:*:*:key/*"), None),
        ("events", _) => (
            "ThePurgeRules",
            json!("arn:aws:events:*:*:rule/scalefront-*"),
            None,
        ),
        ("logs", _) => ("LogRetention", json!("*"), None),
        ("cloudfront", _) => ("CloudFront", json!("*"), None),
        ("cloudfront-keyvaluestore", _) => ("SigningKeyStore", json!("*"), None),
        ("acm", _) => ("Certificates", json!("*"), None),
        ("route53", _) => ("Dns", json!("*"), None),
        _ => ("Other", json!("*"), None),
    }
}

fn deployer_policy(actions: &BTreeSet<String>) -> Value {
    let mut groups: BTreeMap<&str, (Vec<&str>, Value, Option<Value>)> = BTreeMap::new();
    for a in actions {
        let (sid, resource, condition) = statement_for(a);
        groups
            .entry(sid)
            .or_insert_with(|| (Vec::new(), resource, condition))
            .0
            .push(a);
    }
    let order = [
        "TheStacks",
        "ReadStacks",
        "CloudFront",
        "SigningKeyStore",
        "TheFunctions",
        "LambdaEdgeServiceLinkedRoles",
        "TheFunctionRoles",
        "PassTheFunctionRolesToLambda",
        "ThePhotoAndArtifactsBuckets",
        "TheBucketKey",
        "ThePurgeRules",
        "LogRetention",
        "Certificates",
        "Dns",
        "Other",
    ];
    let statements: Vec<Value> = order
        .iter()
        .filter_map(|sid| groups.get(sid).map(|g| (sid, g)))
        .map(|(sid, (actions, resource, condition))| {
            let mut s = json!({
                "Sid": sid,
                "Effect": "Allow",
                "Action": actions,
                "Resource": resource,
            });
            if let Some(c) = condition {
                s["Condition"] = c.clone();
            }
            s
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": statements})
}

fn doctor_policy(actions: &BTreeSet<String>) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "ScalefrontDoctorReadsOnly",
        "Effect": "Allow",
        "Action": actions,
        "Resource": "*",
    }]})
}

/// The actions a policy document allows (it holds only Allow statements with action lists).
fn allowed(doc: &Value) -> BTreeSet<String> {
    doc["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(|s| match &s["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        })
        .collect()
}

/// A policy document as people write them: Version first; Sid, Effect, Action, Resource,
/// Condition in each statement.
fn policy_text(doc: &Value) -> String {
    let nested = |v: &Value| {
        serde_json::to_string_pretty(v)
            .unwrap()
            .replace('\n', "\n      ")
    };
    let statements: Vec<String> = doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let fields: Vec<String> = ["Sid", "Effect", "Action", "Resource", "Condition"]
                .iter()
                .filter_map(|k| s.get(*k).map(|v| format!("      \"{k}\": {}", nested(v))))
                .collect();
            format!("    {{\n{}\n    }}", fields.join(",\n"))
        })
        .collect();
    format!(
        "{{\n  \"Version\": {},\n  \"Statement\": [\n{}\n  ]\n}}\n",
        doc["Version"],
        statements.join(",\n")
    )
}

/// Checks (or with UPDATE_EXPECT=1 writes) one shipped policy against what was derived.
fn check_shipped(file: &str, derived: &Derived, expected: &Value) {
    let path = root().join("infra/policies").join(file);
    let text = policy_text(expected);
    // IAM quotas: a customer managed policy holds at most 6,144 characters, whitespace not counted
    // (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
    let size = text.chars().filter(|c| !c.is_whitespace()).count();
    assert!(
        size <= 6144,
        "{file} would be {size} characters: over IAM's 6,144 for a managed policy"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        *expected,
        "policy_text keeps the document"
    );
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let shipped: Value = serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    let have = allowed(&shipped);
    let want: BTreeSet<String> = derived.actions.keys().cloned().collect();
    let mut report = String::new();
    for a in want.difference(&have) {
        report.push_str(&format!(
            "  missing {a}: needed by {}\n",
            derived.actions[a]
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    for a in have.difference(&want) {
        report.push_str(&format!("  not needed {a}: nothing derived needs it\n"));
    }
    assert!(
        report.is_empty(),
        "infra/policies/{file} does not hold exactly the actions the code and templates need:\n{report}(UPDATE_EXPECT=1 cargo test -p infra --test policies rewrites it)"
    );
    assert_eq!(
        shipped, *expected,
        "infra/policies/{file}: the actions are right but the statements differ from what the test makes (UPDATE_EXPECT=1 cargo test -p infra --test policies rewrites it)"
    );
}

fn print(name: &str, d: &Derived) {
    eprintln!("{name}: {} actions", d.actions.len());
    for (a, why) in &d.actions {
        eprintln!(
            "  {a}  <- {}",
            why.iter().cloned().collect::<Vec<_>>().join("; ")
        );
    }
    for s in &d.skipped {
        eprintln!("  (skipped: {s})");
    }
    for (a, why) in &d.on_request {
        eprintln!(
            "  (on request only, not in this policy: {a} <- {})",
            why.iter().cloned().collect::<Vec<_>>().join("; ")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The tests.

#[test]
fn deployer_policy_holds_exactly_what_deploy_needs() {
    let d = derive(Policy::Deployer);
    print("deployer", &d);
    assert!(
        d.problems.is_empty(),
        "the deployer's actions could not all be derived:\n  {}",
        d.problems.join("\n  ")
    );
    // The scan found deploy's own stack calls (through StackRef's wrapper) and the templates'
    // resources: a scanner that finds nothing would pass any policy.
    for a in [
        "cloudformation:CreateChangeSet",
        "cloudformation:ExecuteChangeSet",
        "s3:PutObject",
        "cloudfront:CreateDistribution",
        "lambda:EnableReplication*",
        "iam:PassRole",
    ] {
        assert!(d.actions.contains_key(a), "{a} was not derived");
    }
    let want: BTreeSet<String> = d.actions.keys().cloned().collect();
    check_shipped("deployer.json", &d, &deployer_policy(&want));
}

#[test]
fn doctor_policy_reads_only() {
    let d = derive(Policy::Doctor);
    print("doctor", &d);
    assert!(
        d.problems.is_empty(),
        "doctor's actions could not all be derived:\n  {}",
        d.problems.join("\n  ")
    );
    assert!(
        d.actions.contains_key("cloudfront:GetDistribution"),
        "doctor's calls were not found"
    );
    let writes: Vec<&String> = d.actions.keys().filter(|a| !reads(a)).collect();
    assert!(
        writes.is_empty(),
        "doctor must only read, but its code calls {writes:?}"
    );
    let want: BTreeSet<String> = d.actions.keys().cloned().collect();
    let expected = doctor_policy(&want);
    check_shipped("doctor.json", &d, &expected);
    let shipped: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("infra/policies/doctor.json")).unwrap(),
    )
    .unwrap();
    for s in shipped["Statement"].as_array().unwrap() {
        assert_eq!(s["Effect"], "Allow");
    }
    for a in allowed(&shipped) {
        assert!(
            reads(&a) && !a.contains('*'),
            "doctor.json allows {a}, not a read"
        );
    }
    // What doctor writes on request (--set-log-retention) is the deployer's to grant.
    let deployer: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("infra/policies/deployer.json")).unwrap(),
    )
    .unwrap();
    let granted = allowed(&deployer);
    for a in d.on_request.keys() {
        assert!(
            granted.contains(a),
            "doctor writes {a} on request, but deployer.json does not hold it"
        );
    }
    assert!(
        d.on_request.contains_key("logs:PutRetentionPolicy"),
        "doctor --set-log-retention's write was not found: {:?}",
        d.on_request
    );
}

#[test]
fn the_scanner_reads_calls_wrappers_and_conditions() {
    let src = r##"
        //! `aws s3api delete-bucket` in a comment is no call: ["s3api", "delete-bucket"]
        use x;
        fn direct(aws: &Aws) {
            aws.call("us-east-1", &["sts", "get-caller-identity"])?;
            let head = [
                "s3api", // the group
                "head-object",
                "--bucket",
            ];
            let c = 'x';
            let s = r#"["kms", "schedule-key-deletion"]"#;
            let p = vec![("CreateBucket", "false".to_owned())];
        }
        impl StackRef {
            fn call(&self, aws: &Aws, op: &str, extra: &[&str]) -> Result<Value> {
                let mut args = vec!["cloudformation", op, "--stack-name", &self.name];
                aws.call(&self.region, &args)
            }
            fn go<'a>(&'a self, aws: &Aws) {
                self.call(aws, "describe-stacks", &[])?;
                stack.call(aws, "create-change-set", &args)?;
            }
        }
        fn survey(aws: &Aws) {
            let call = |what: &str| -> Result<Option<Value>> {
                let args: Vec<&str> = ["s3api", what].iter().chain(b.iter()).copied().collect();
                Ok(aws.call_opt(r, &args)?)
            };
            call("get-bucket-encryption")?;
        }
        #[cfg(test)]
        mod tests {
            fn t() { aws.call("r", &["s3api", "delete-bucket"]); }
        }
    "##;
    let other = r#"
        fn teardown(stack: &StackRef, aws: &Aws) {
            stack.call(aws, "delete-stack", &[])?;
            stack_call(aws, &s.name, "delete-change-set", &[])?;
        }
        fn stack_call(aws: &Aws, s: &Found, op: &str) -> Result<Value> {
            aws.call(&s.region, &vec!["cloudformation", op])
        }
    "#;
    let s = scan(&[
        ("a.rs".to_owned(), src.to_owned()),
        ("b.rs".to_owned(), other.to_owned()),
    ]);
    assert!(s.problems.is_empty(), "{:?}", s.problems);
    assert!(s.create_bucket_false);
    let found: Vec<String> = s
        .calls
        .iter()
        .map(|c| format!("{} {}", c.group, c.op))
        .collect();
    assert_eq!(
        found,
        [
            "cloudformation create-change-set",
            "cloudformation delete-change-set",
            "cloudformation delete-stack",
            "cloudformation describe-stacks",
            "s3api get-bucket-encryption",
            "s3api head-object",
            "sts get-caller-identity",
        ]
    );
    // A wrapper nobody calls with a literal operation is reported, not ignored.
    let s = scan(&[(
        "c.rs".to_owned(),
        "fn f(op: &str) { let a = [\"lambda\", op]; }".to_owned(),
    )]);
    assert_eq!(s.problems.len(), 1, "{:?}", s.problems);
    // Conditions: only CreateBucket is known.
    let conditions = json!({
        "NewBucket": {"Fn::Equals": [{"Ref": "CreateBucket"}, "true"]},
        "HasAlias": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Alias"}, ""]}]},
        "Both": {"Fn::And": [{"Condition": "NewBucket"}, {"Condition": "HasAlias"}]},
    });
    let value = |name: &str, known| condition_value(&conditions[name], &conditions, known);
    assert_eq!(value("NewBucket", true), Some(false));
    assert_eq!(value("NewBucket", false), None);
    assert_eq!(value("HasAlias", true), None);
    assert_eq!(value("Both", true), Some(false));
    assert_eq!(
        neutralized("A:\n{{block}}\n  B: \"{{x}}-{{y}}\"\n"),
        "A:\n  B: \"x-x\""
    );
}

#[test]
fn feature_permissions_follow_the_properties() {
    let r = |ty: &str, props: Value| Resource {
        template: "t".into(),
        logical: "R".into(),
        ty: ty.into(),
        props,
        condition: None,
        conditions: Value::Null,
    };
    let f = resource_actions(&r(
        "AWS::Lambda::Function",
        json!({"Code": {"S3Bucket": "b", "S3Key": "k"}, "Role": "arn"}),
    ))
    .unwrap();
    assert!(
        f.contains("lambda:CreateFunction")
            && f.contains("iam:PassRole")
            && f.contains("s3:GetObject")
    );
    assert!(!f
        .iter()
        .any(|a| a.starts_with("ec2:") || a.starts_with("kms:")));
    let vpc = resource_actions(&r(
        "AWS::Lambda::Function",
        json!({"VpcConfig": {"SubnetIds": ["s"]}}),
    ))
    .unwrap();
    assert!(vpc.contains("ec2:DescribeSubnets"));
    let d = resource_actions(&r(
        "AWS::CloudFront::Distribution",
        json!({"DistributionConfig": {"DefaultCacheBehavior": {"LambdaFunctionAssociations": [{"EventType": "origin-response"}]}}}),
    ))
    .unwrap();
    assert!(d.contains("lambda:EnableReplication*") && d.contains("iam:CreateServiceLinkedRole"));
    assert!(!d.contains("cloudfront:GetVpcOrigin"));
    let plain = resource_actions(&r(
        "AWS::CloudFront::Distribution",
        json!({"DistributionConfig": {"DefaultCacheBehavior": {"LambdaFunctionAssociations": []}}}),
    ))
    .unwrap();
    assert!(!plain.contains("lambda:EnableReplication*"));
    assert!(resource_actions(&r("AWS::EC2::VPC", json!({}))).is_err());
}

#[test]
fn doctor_reaches_other_modules_by_path_and_import() {
    let doctor = r#"
        use crate::domain::{self as dom, Zone};
        use crate::logs;
        pub fn collect(aws: &Aws) {
            aws.call("us-east-1", &["acm", "describe-certificate"]);
            dom::records_named(aws);
            helper(aws);
        }
        fn helper(aws: &Aws) { logs::apply(aws); }
    "#;
    let domain = r#"
        pub fn records_named(aws: &Aws) { inner(aws); }
        fn inner(aws: &Aws) { aws.call("us-east-1", &["route53", "list-resource-record-sets"]); }
        pub fn point_alias(aws: &Aws) { aws.call("us-east-1", &["route53", "change-resource-record-sets"]); }
    "#;
    let logs = r#"
        pub fn apply(aws: &Aws) { aws.call("r", &["logs", "put-retention-policy"]); }
    "#;
    let files = vec![
        ("infra/src/doctor/domain.rs".to_owned(), doctor.to_owned()),
        ("infra/src/domain.rs".to_owned(), domain.to_owned()),
        ("infra/src/logs.rs".to_owned(), logs.to_owned()),
    ];
    let s = scan(&files);
    let (own, on_request) = calls_of(Policy::Doctor, &s, &files);
    let names = |c: &[Call]| {
        c.iter()
            .map(|c| format!("{} {}", c.group, c.op))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(&own),
        [
            "acm describe-certificate",
            "route53 list-resource-record-sets"
        ]
    );
    assert_eq!(names(&on_request), ["logs put-retention-policy"]);
    let (deployer, _) = calls_of(Policy::Deployer, &s, &files);
    assert_eq!(deployer.len(), 3);
}
