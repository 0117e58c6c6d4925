//! Splitting text into statements: exact statement text and start positions, comments, empty input.

use crate::sql::ast::{ShowTarget, Statement};
use crate::sql::parse;

#[test]
fn statements_keep_their_exact_text_and_start() {
    let sql =
        "SHOW STREAMS;\n  select *\n  from s  -- trailing comment\n  emit changes ;\n\tDROP STREAM s DELETE TOPIC";
    let statements = parse(sql).unwrap();
    let texts: Vec<_> = statements.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "SHOW STREAMS",
            "select *\n  from s  -- trailing comment\n  emit changes",
            "DROP STREAM s DELETE TOPIC"
        ]
    );
    let starts: Vec<_> = statements.iter().map(|s| (s.line, s.column)).collect();
    assert_eq!(starts, [(1, 1), (2, 3), (5, 2)]);
}

#[test]
fn a_final_semicolon_is_optional_and_empty_statements_vanish() {
    assert_eq!(parse("SHOW TABLES").unwrap().len(), 1);
    assert_eq!(parse("SHOW TABLES;").unwrap().len(), 1);
    assert_eq!(parse(";;SHOW TABLES;;;SHOW TOPICS;").unwrap().len(), 2);
}

#[test]
fn no_statement_gives_an_empty_list() {
    for sql in [
        "",
        "   ",
        "\n\t\n",
        ";",
        " ; ; ",
        "-- just a comment",
        "/* block */",
        "-- a\n/* b\n c */ ;\n-- d\n",
    ] {
        assert_eq!(parse(sql), Ok(vec![]), "{sql:?}");
    }
}

#[test]
fn comments_are_skipped_inside_statements() {
    let statements = parse("/* lead */ SHOW /* mid */ QUERIES -- tail\n; -- after").unwrap();
    assert_eq!(statements.len(), 1);
    assert_eq!(statements[0].text, "SHOW /* mid */ QUERIES");
    assert_eq!((statements[0].line, statements[0].column), (1, 12));
    assert_eq!(
        statements[0].statement,
        Statement::Show {
            what: ShowTarget::Queries,
            extended: false
        }
    );
}

#[test]
fn semicolons_inside_literals_do_not_split() {
    let statements = parse("SET 'a;b' = 'c;d'; PRINT `x;y`; SELECT ';' FROM s /* ; */").unwrap();
    assert_eq!(statements.len(), 3);
    assert_eq!(
        statements[0].statement,
        Statement::Set {
            name: "a;b".into(),
            value: "c;d".into()
        }
    );
    assert_eq!(statements[2].text, "SELECT ';' FROM s");
}

#[test]
fn multi_byte_characters_keep_slices_exact() {
    let statements = parse("SELECT 'héllo – ✓' AS `ünï` FROM s;  SHOW STREAMS").unwrap();
    assert_eq!(statements[0].text, "SELECT 'héllo – ✓' AS `ünï` FROM s");
    assert_eq!(statements[1].text, "SHOW STREAMS");
    assert_eq!((statements[1].line, statements[1].column), (1, 38));
}
