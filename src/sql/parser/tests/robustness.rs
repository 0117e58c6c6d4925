//! Hostile input: deep nesting of every recursive form must end in an error, never a stack overflow, and random
//! token soup must never panic.

use crate::sql::{parse, parse_type};

fn nested(open: &str, middle: &str, close: &str, depth: usize) -> String {
    format!("SELECT {}{}{} FROM s", open.repeat(depth), middle, close.repeat(depth))
}

/// Every recursive expression form, nested 10,000 deep: refused with the depth error. Nested 24 deep they parse
/// (some forms use two levels of the limit per nesting).
#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let forms = [
        ("(", "1", ")"),
        ("f(", "1", ")"),
        ("CAST(", "1", " AS INT)"),
        ("CASE WHEN ", "1", " THEN 1 END"),
        ("CASE WHEN 1 THEN ", "1", " END"),
        ("STRUCT(a := ", "1", ")"),
        ("MAP(1 := ", "1", ")"),
        ("t(a, x => ", "1", ")"),
        ("ARRAY[", "1", "]"),
        ("NOT ", "1", ""),
        ("a IN (", "1", ")"),
        ("1 + (", "1", ")"),
        ("a[", "1", "]"),
        ("a BETWEEN (", "1", ") AND 2"),
        ("(SELECT ", "1", ")"),
        ("EXISTS (SELECT ", "1", ")"),
        ("- ", "1", ""),
        ("INTERVAL ", "1", ""),
        ("ARRAY<", "INT", ">"),
        ("FLOOR(", "1", ")"),
        ("SUBSTRING(", "1", ", 1, 2)"),
        ("(", "1", ", 1)"),
        ("CONVERT(", "1", ", INT)"),
    ];
    let started = std::time::Instant::now();
    for (open, middle, close) in forms {
        let deep = nested(open, middle, close, 10_000);
        assert!(parse(&deep).is_err(), "{open}");
        // An error deep inside used to make `sqlparser` re-parse every level twice (exponential time).
        let broken = nested(open, "1 +", close, 30);
        assert!(parse(&broken).is_err(), "{open}");
    }
    assert!(
        started.elapsed().as_secs() < 60,
        "deep nesting took {:?}",
        started.elapsed()
    );

    for (open, middle, close) in forms.iter().take(13) {
        let fine = nested(open, middle, close, 24);
        assert!(parse(&fine).is_ok(), "{open}: {:?}", parse(&fine));
    }
    let e = parse(&nested("(", "1", ")", 60)).unwrap_err();
    assert_eq!(e.message, "Expression nesting is too deep (at most 50 levels)");
    assert_eq!((e.line, e.column), (1, 8 + 50));
    let e = parse(&nested("(", "1", ")", 10_000)).unwrap_err();
    assert_eq!(
        e.message,
        "Nesting is too deep (at most 64 levels of parentheses and brackets)"
    );
    assert_eq!((e.line, e.column), (1, 8 + 64));

    let explains = format!("{}SHOW STREAMS", "EXPLAIN ".repeat(10_000));
    assert!(parse(&explains).is_err());
    assert!(
        parse(&format!(
            "CREATE STREAM s (a {}INT{})",
            "ARRAY<".repeat(10_000),
            ">".repeat(10_000)
        ))
        .is_err()
    );
    assert!(parse_type(&"ARRAY<".repeat(10_000)).is_err());
}

/// How many rounds a randomized test runs: `default`, or `WEIR_SQL_FUZZ_ROUNDS` for a longer local run.
fn rounds(default: usize) -> usize {
    std::env::var("WEIR_SQL_FUZZ_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The generator's seed: `default`, or `WEIR_SQL_FUZZ_SEED` to explore other inputs.
fn seed(default: u64) -> u64 {
    std::env::var("WEIR_SQL_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
        | 1
}

/// Operator chains are built without recursion, so they are bounded separately: the tree depth that later
/// layers can walk, and the number of operators that keeps even that check cheap.
#[test]
fn long_operator_chains_are_bounded() {
    let chain = |n: usize| format!("SELECT 1{} FROM s", " + 1".repeat(n));
    // The deepest accepted tree can still be printed on this (2 MiB) test thread.
    let deepest = super::expr(&format!("1{}", " + 1".repeat(127)));
    assert!(deepest.to_string().len() > 500);

    let e = parse(&chain(128)).unwrap_err();
    assert!(
        e.message
            .starts_with("Expression is nested too deeply (at most 128 levels"),
        "{e}"
    );
    assert_eq!((e.line, e.column), (1, 8));
    let e = parse(&format!("SELECT a FROM s WHERE x = 1{}", " OR x = 1".repeat(200))).unwrap_err();
    assert!(e.message.starts_with("Expression is nested too deeply"), "{e}");

    let e = parse(&chain(20_000)).unwrap_err();
    assert_eq!(e.message, "Too many operators in one statement (at most 10000)");
    assert_eq!((e.line, e.column), (1, 10 + 4 * 10_000));

    // Wide but shallow is fine: many operators, none deep.
    let wide: Vec<String> = (0..2_000).map(|i| format!("a = {i}")).collect();
    assert!(parse(&format!("SELECT {} FROM s", wide.join(", "))).is_ok());
}

/// A small deterministic generator, so failures reproduce (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const WORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "BY",
    "HAVING",
    "PARTITION",
    "EMIT",
    "CHANGES",
    "FINAL",
    "LIMIT",
    "WINDOW",
    "TUMBLING",
    "HOPPING",
    "SESSION",
    "SIZE",
    "ADVANCE",
    "RETENTION",
    "GRACE",
    "PERIOD",
    "SECONDS",
    "HOUR",
    "DAYS",
    "JOIN",
    "LEFT",
    "RIGHT",
    "FULL",
    "OUTER",
    "INNER",
    "WITHIN",
    "ON",
    "AS",
    "CREATE",
    "OR",
    "REPLACE",
    "SOURCE",
    "STREAM",
    "TABLE",
    "IF",
    "NOT",
    "EXISTS",
    "WITH",
    "KEY",
    "PRIMARY",
    "HEADERS",
    "HEADER",
    "INSERT",
    "INTO",
    "VALUES",
    "DROP",
    "DELETE",
    "TOPIC",
    "SHOW",
    "LIST",
    "STREAMS",
    "TABLES",
    "QUERIES",
    "TOPICS",
    "PROPERTIES",
    "ALL",
    "EXTENDED",
    "DESCRIBE",
    "EXPLAIN",
    "TERMINATE",
    "PRINT",
    "BEGINNING",
    "INTERVAL",
    "SAMPLE",
    "SET",
    "UNSET",
    "CAST",
    "TRY_CAST",
    "STRUCT",
    "MAP",
    "ARRAY",
    "INT",
    "BIGINT",
    "DECIMAL",
    "STRING",
    "BYTES",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "AND",
    "IN",
    "BETWEEN",
    "LIKE",
    "IS",
    "NULL",
    "TRUE",
    "FALSE",
    "x",
    "`Q`",
    "\"d\"",
    "'str'",
    "1",
    "0",
    "-1",
    "1.5",
    "18446744073709551616",
    "(",
    ")",
    "[",
    "]",
    "<",
    ">",
    ">>",
    "<>",
    ",",
    ";",
    ".",
    "*",
    "+",
    "-",
    "/",
    "%",
    "=",
    "->",
    "=>",
    ":=",
    "::",
    "||",
    "--",
    "/*",
    "*/",
    "'",
    "`",
    "\"",
    "\n",
    "?",
    "$1",
    "@",
    "#",
    "{",
    "}",
];

#[test]
fn random_token_soup_never_panics() {
    let mut rng = Rng(seed(0x9e37_79b9_7f4a_7c15));
    for _ in 0..rounds(3_000) {
        let mut sql = String::new();
        for _ in 0..rng.below(40) {
            if rng.below(10) == 0 {
                // A few random bytes, kept valid UTF-8 by going through chars.
                for _ in 0..rng.below(4) {
                    sql.push(char::from_u32(rng.below(0x3000) as u32).unwrap_or('\u{fffd}'));
                }
            } else {
                sql.push_str(WORDS[rng.below(WORDS.len())]);
            }
            if rng.below(4) != 0 {
                sql.push(' ');
            }
        }
        check_promises(&sql);
        let _ = parse_type(&sql);
    }
}

/// What `parse` promises for any input: statement texts are slices of it and positions are inside it.
fn check_promises(sql: &str) {
    let lines = sql.split('\n').count() as u64;
    match parse(sql) {
        Ok(statements) => {
            for s in statements {
                assert!(!s.text.is_empty() && sql.contains(&s.text), "{sql:?}: {:?}", s.text);
                assert!(
                    (1..=lines).contains(&s.line) && s.column >= 1,
                    "{sql:?}: {}:{}",
                    s.line,
                    s.column
                );
            }
        }
        Err(e) => assert!((1..=lines).contains(&e.line) && e.column >= 1, "{sql:?}: {e}"),
    }
}

/// Expressions built from randomly chosen recursive forms, nested up to 120 deep: the depth limits, not the
/// stack, must end each of them, whatever the mixture.
#[test]
fn random_deep_mixtures_never_crash() {
    const WRAPPERS: &[(&str, &str)] = &[
        ("(", ")"),
        ("f(", ")"),
        ("CAST(", " AS ARRAY<INT>)"),
        ("CASE WHEN ", " THEN 1 END"),
        ("STRUCT(a := ", ")"),
        ("MAP('k' := ", ")"),
        ("t(a, x => ", ")"),
        ("ARRAY[", "]"),
        ("NOT ", ""),
        ("- ", ""),
        ("a IN (", ")"),
        ("a[", "]"),
        ("1 + ", ""),
        ("x->", ""),
        ("SUBSTRING(", ", 1)"),
        ("a BETWEEN ", " AND 2"),
        ("INTERVAL ", ""),
        ("ARRAY<", ">"),
    ];
    let mut rng = Rng(seed(7));
    for _ in 0..rounds(300) {
        let depth = 1 + rng.below(120);
        let (mut open, mut close) = (String::new(), String::new());
        for _ in 0..depth {
            let (o, c) = WRAPPERS[rng.below(WRAPPERS.len())];
            open.push_str(o);
            close.insert_str(0, c);
        }
        let middle = ["1", "1 +", "", "'s'", ")"][rng.below(5)];
        check_promises(&format!("SELECT {open}{middle}{close} FROM s"));
    }
}

/// Valid statements with one token removed or duplicated: near misses exercise the error paths.
#[test]
fn mutated_statements_never_panic() {
    let statements = [
        "CREATE STREAM s (id INT KEY, m MAP<STRING, ARRAY<STRUCT<a INT>>>) WITH (kafka_topic='t', partitions=1);",
        "SELECT a, CAST(b AS DECIMAL(4, 2)) FROM s x LEFT JOIN t WITHIN (1 HOUR, 2 HOURS) GRACE PERIOD 1 SECOND \
         ON x.id = t.id WINDOW HOPPING (SIZE 1 HOUR, ADVANCE BY 1 MINUTE) WHERE a > 1 GROUP BY a EMIT CHANGES LIMIT 3;",
        "INSERT INTO s (a, b) VALUES (STRUCT(x := 1), MAP('k' := TRANSFORM(arr, v => v + 1)));",
        "PRINT 'topic' FROM BEGINNING INTERVAL 2 LIMIT 5; SET 'a' = 'b'; EXPLAIN SELECT * FROM s;",
    ];
    let mut rng = Rng(seed(42));
    for statement in statements {
        let words: Vec<&str> = statement.split(' ').collect();
        for _ in 0..rounds(400) {
            let mut mutated = words.clone();
            let i = rng.below(mutated.len());
            match rng.below(3) {
                0 => {
                    mutated.remove(i);
                }
                1 => mutated.insert(i, words[rng.below(words.len())]),
                _ => mutated.swap(i, rng.below(words.len())),
            }
            check_promises(&mutated.join(" "));
        }
    }
}
