//! What one statement from a Postgres client is: a Weir statement for the engine, a pull query for DataFusion, a
//! push query, or one of the session commands drivers send (transactions, `SET`/`SHOW`, cursors). The decision is
//! made from the leading keywords, so each statement is parsed once, by the parser of its kind.

use super::errors::{NOT_SUPPORTED, PgError, SYNTAX_ERROR};
use super::lexer::{Kind, Token};

/// How many rows a `FETCH` or `MOVE` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    Rows(u64),
    All,
}

/// One classified statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// A statement of Weir's dialect (DDL, INSERT, SHOW STREAMS, DESCRIBE, PRINT, ksqlDB's `SET 'p' = 'v'`, ...).
    Weir,
    /// `SELECT ... EMIT CHANGES`: streams rows as they come.
    Push,
    /// Any other query: planned by DataFusion (also `EXPLAIN` of one).
    Pull,
    Begin,
    Commit,
    Rollback,
    /// `SAVEPOINT`, `RELEASE`, `ROLLBACK TO`: accepted, with their tag.
    Savepoint(&'static str),
    /// `SET name = value` of a run-time parameter (`None`: back to the default).
    Set {
        name: String,
        value: Option<String>,
    },
    /// `SET TRANSACTION ...` and other settings without effect.
    SetIgnored,
    Show {
        name: String,
    },
    ShowAll,
    Reset {
        name: Option<String>,
    },
    Discard,
    Deallocate {
        name: Option<String>,
    },
    Declare {
        name: String,
        query: String,
    },
    Fetch {
        name: String,
        count: Count,
        skip: bool,
    },
    Close {
        name: Option<String>,
    },
    /// Recognized, not supported: the message says why.
    Unsupported(String),
}

/// Weir's `SHOW`/`LIST` targets (ksqlDB's), as opposed to Postgres' `SHOW parameter`.
const WEIR_SHOW: &[&str] = &[
    "STREAMS",
    "TABLES",
    "QUERIES",
    "TOPICS",
    "PROPERTIES",
    "FUNCTIONS",
    "TYPES",
    "CONNECTORS",
    "VARIABLES",
];

/// Classifies a statement from its tokens (whitespace and comments already dropped).
pub fn classify(text: &str, tokens: &[Token]) -> Result<Command, PgError> {
    let Some(first) = tokens.first() else {
        return Ok(Command::Weir);
    };
    let word = |i: usize| {
        tokens
            .get(i)
            .filter(|t| t.kind == Kind::Word)
            .map(|t| t.text.to_ascii_uppercase())
    };
    let first_word = if first.kind == Kind::Punct && first.text == "(" {
        "(".to_string()
    } else {
        word(0).unwrap_or_default()
    };
    Ok(match first_word.as_str() {
        "SELECT" | "WITH" | "VALUES" | "TABLE" | "(" => {
            if is_push(tokens) {
                Command::Push
            } else {
                Command::Pull
            }
        }
        "EXPLAIN" => {
            let next = word(1).unwrap_or_default();
            let is_query = matches!(next.as_str(), "SELECT" | "WITH" | "VALUES" | "ANALYZE" | "VERBOSE")
                || tokens.get(1).is_some_and(|t| t.text == "(");
            if is_query && !is_push(tokens) {
                Command::Pull
            } else {
                Command::Weir
            }
        }
        "BEGIN" | "START" => Command::Begin,
        "COMMIT" | "END" => Command::Commit,
        "ROLLBACK" | "ABORT" => {
            if tokens.iter().skip(1).any(|t| t.is("TO")) {
                Command::Savepoint("ROLLBACK")
            } else if word(1).as_deref() == Some("PREPARED") {
                Command::Unsupported("two-phase commit is not supported".into())
            } else {
                Command::Rollback
            }
        }
        "SAVEPOINT" => Command::Savepoint("SAVEPOINT"),
        "RELEASE" => Command::Savepoint("RELEASE"),
        "SET" => classify_set(tokens)?,
        "SHOW" | "LIST" => classify_show(&first_word, tokens),
        "RESET" => match tokens.get(1) {
            Some(t) if t.is("ALL") => Command::Reset { name: None },
            Some(_) => Command::Reset {
                name: Some(parameter_name(&tokens[1..])),
            },
            None => return Err(syntax("RESET needs a parameter name")),
        },
        "DISCARD" => Command::Discard,
        "DEALLOCATE" => {
            let rest: Vec<&Token> = tokens.iter().skip(1).filter(|t| !t.is("PREPARE")).collect();
            match rest.first() {
                Some(t) if t.is("ALL") => Command::Deallocate { name: None },
                Some(t) => Command::Deallocate {
                    name: Some(t.text.clone()),
                },
                None => return Err(syntax("DEALLOCATE needs a statement name")),
            }
        }
        "DECLARE" => classify_declare(text, tokens)?,
        "FETCH" | "MOVE" => classify_fetch(&first_word, tokens)?,
        "CLOSE" => match tokens.get(1) {
            Some(t) if t.is("ALL") => Command::Close { name: None },
            Some(t) => Command::Close {
                name: Some(cursor_name(t)),
            },
            None => return Err(syntax("CLOSE needs a cursor name")),
        },
        "LISTEN" | "UNLISTEN" | "NOTIFY" => Command::Unsupported(format!("{first_word} is not supported")),
        "PREPARE" | "EXECUTE" => Command::Unsupported(format!(
            "SQL-level {first_word} is not supported; use the extended query protocol (driver-side prepared statements)"
        )),
        "COPY" => Command::Unsupported(
            "COPY is not supported; use INSERT INTO ... VALUES or the REST API's /inserts-stream".into(),
        ),
        "UPDATE" | "DELETE" | "MERGE" | "TRUNCATE" | "ALTER" | "GRANT" | "REVOKE" | "VACUUM" | "ANALYZE" | "LOCK" => {
            Command::Unsupported(format!(
                "{first_word} is not supported: streams and tables change through INSERT and persistent queries"
            ))
        }
        _ => Command::Weir,
    })
}

/// `EMIT CHANGES` / `EMIT FINAL` anywhere in the statement makes it a push query.
fn is_push(tokens: &[Token]) -> bool {
    tokens
        .windows(2)
        .any(|w| w[0].is("EMIT") && (w[1].is("CHANGES") || w[1].is("FINAL")))
}

fn syntax(message: &str) -> PgError {
    PgError::new(SYNTAX_ERROR, message)
}

fn classify_set(tokens: &[Token]) -> Result<Command, PgError> {
    let mut i = 1;
    // ksqlDB: SET 'auto.offset.reset' = 'earliest'.
    if tokens.get(1).is_some_and(|t| t.kind == Kind::String) {
        return Ok(Command::Weir);
    }
    if tokens.get(i).is_some_and(|t| t.is("SESSION") || t.is("LOCAL")) {
        i += 1;
    }
    let Some(name_token) = tokens.get(i) else {
        return Err(syntax("SET needs a parameter name"));
    };
    if name_token.is("TRANSACTION")
        || name_token.is("CHARACTERISTICS")
        || name_token.is("SESSION")
        || name_token.is("ROLE")
    {
        return Ok(Command::SetIgnored);
    }
    if name_token.is("TIME") && tokens.get(i + 1).is_some_and(|t| t.is("ZONE")) {
        let value = value_text(&tokens[i + 2..]);
        return Ok(Command::Set {
            name: "TimeZone".into(),
            value: (!value.eq_ignore_ascii_case("DEFAULT") && !value.eq_ignore_ascii_case("LOCAL")).then_some(value),
        });
    }
    if name_token.is("NAMES") {
        return Ok(Command::Set {
            name: "client_encoding".into(),
            value: Some(value_text(&tokens[i + 1..])),
        });
    }
    // name may be dotted: `SET my.setting = 1`.
    let mut j = i;
    while tokens.get(j + 1).is_some_and(|t| t.text == ".") && tokens.get(j + 2).is_some() {
        j += 2;
    }
    let name = parameter_name(&tokens[i..=j]);
    let Some(sep) = tokens.get(j + 1) else {
        return Err(syntax(&format!("SET {name} needs a value")));
    };
    if !(sep.is("TO") || sep.text == "=") {
        return Err(syntax(&format!("syntax error at or near \"{}\"", sep.text)));
    }
    let value = value_text(&tokens[j + 2..]);
    if value.is_empty() {
        return Err(syntax(&format!("SET {name} needs a value")));
    }
    Ok(Command::Set {
        name,
        value: (!value.eq_ignore_ascii_case("DEFAULT")).then_some(value),
    })
}

/// A parameter name as Postgres reads it: case-insensitive unless quoted, parts joined by dots.
fn parameter_name(tokens: &[Token]) -> String {
    tokens
        .iter()
        .map(|t| match t.kind {
            Kind::QuotedIdent => t.text.clone(),
            _ => t.text.to_ascii_lowercase(),
        })
        .collect::<Vec<_>>()
        .join("")
}

/// A `SET` value list as one string: `'a', b` → `a, b`.
fn value_text(tokens: &[Token]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = String::new();
    for t in tokens {
        if t.text == "," && t.kind == Kind::Punct {
            parts.push(std::mem::take(&mut current));
            continue;
        }
        match t.kind {
            Kind::String | Kind::QuotedIdent => current.push_str(&t.text),
            _ => current.push_str(&t.text),
        }
    }
    parts.push(current);
    parts.join(", ")
}

fn classify_show(first: &str, tokens: &[Token]) -> Command {
    let next = tokens.get(1).map(|t| t.text.to_ascii_uppercase()).unwrap_or_default();
    if first == "LIST" || WEIR_SHOW.contains(&next.as_str()) {
        return Command::Weir;
    }
    if next == "ALL" {
        return if tokens.get(2).is_some_and(|t| t.is("TOPICS")) {
            Command::Weir
        } else {
            Command::ShowAll
        };
    }
    let name = match next.as_str() {
        "TRANSACTION" if tokens.get(2).is_some_and(|t| t.is("ISOLATION")) => "transaction_isolation".into(),
        "TIME" if tokens.get(2).is_some_and(|t| t.is("ZONE")) => "TimeZone".into(),
        "SESSION" if tokens.get(2).is_some_and(|t| t.is("AUTHORIZATION")) => "session_authorization".into(),
        _ => parameter_name(&tokens[1..]),
    };
    Command::Show { name }
}

fn cursor_name(t: &Token) -> String {
    match t.kind {
        Kind::QuotedIdent => t.text.clone(),
        _ => t.text.to_ascii_lowercase(),
    }
}

fn classify_declare(text: &str, tokens: &[Token]) -> Result<Command, PgError> {
    let name = tokens
        .get(1)
        .filter(|t| matches!(t.kind, Kind::Word | Kind::QuotedIdent))
        .map(cursor_name)
        .ok_or_else(|| syntax("DECLARE needs a cursor name"))?;
    let cursor_at = tokens
        .iter()
        .position(|t| t.is("CURSOR"))
        .ok_or_else(|| syntax("DECLARE name CURSOR FOR query"))?;
    let modifiers = tokens.get(2..cursor_at).unwrap_or(&[]);
    for (k, t) in modifiers.iter().enumerate() {
        if !(t.is("BINARY") || t.is("ASENSITIVE") || t.is("INSENSITIVE") || t.is("NO") || t.is("SCROLL")) {
            return Err(syntax(&format!("syntax error at or near \"{}\"", t.text)));
        }
        let no_before = k > 0 && modifiers[k - 1].is("NO");
        if t.is("SCROLL") && !no_before {
            return Err(PgError::new(
                NOT_SUPPORTED,
                "SCROLL cursors are not supported (cursors only move forward)",
            ));
        }
    }
    let for_at = tokens[cursor_at..]
        .iter()
        .position(|t| t.is("FOR"))
        .map(|p| p + cursor_at)
        .ok_or_else(|| syntax("DECLARE name CURSOR FOR query"))?;
    let query_start = tokens
        .get(for_at + 1)
        .ok_or_else(|| syntax("DECLARE needs a query after FOR"))?
        .start;
    Ok(Command::Declare {
        name,
        query: text.get(query_start..).unwrap_or("").to_string(),
    })
}

fn classify_fetch(first: &str, tokens: &[Token]) -> Result<Command, PgError> {
    let skip = first == "MOVE";
    let mut i = 1;
    let mut count = Count::Rows(1);
    let number = |t: &Token| -> Result<u64, PgError> {
        t.text
            .parse::<u64>()
            .map_err(|_| syntax(&format!("invalid row count \"{}\"", t.text)))
    };
    while let Some(t) = tokens.get(i) {
        if t.is("FROM") || t.is("IN") {
            i += 1;
            break;
        }
        if i + 1 == tokens.len() {
            break;
        }
        if t.is("NEXT") || t.is("FORWARD") {
        } else if t.is("ALL") {
            count = Count::All;
        } else if t.kind == Kind::Number {
            count = Count::Rows(number(t)?);
        } else if t.is("PRIOR")
            || t.is("FIRST")
            || t.is("LAST")
            || t.is("ABSOLUTE")
            || t.is("RELATIVE")
            || t.is("BACKWARD")
        {
            return Err(PgError::new(
                NOT_SUPPORTED,
                "cursors only move forward: use FETCH [FORWARD] n | ALL",
            ));
        } else {
            return Err(syntax(&format!("syntax error at or near \"{}\"", t.text)));
        }
        i += 1;
    }
    let name = tokens
        .get(i)
        .map(cursor_name)
        .ok_or_else(|| syntax(&format!("{first} needs a cursor name")))?;
    Ok(Command::Fetch { name, count, skip })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::pgwire::lexer::tokenize;

    fn c(sql: &str) -> Command {
        classify(sql, &tokenize(sql).unwrap()).unwrap()
    }

    #[test]
    fn queries_split_by_emit() {
        assert_eq!(c("SELECT * FROM s"), Command::Pull);
        assert_eq!(c("select * from s emit changes limit 3"), Command::Push);
        assert_eq!(c("(SELECT 1)"), Command::Pull);
        assert_eq!(c("EXPLAIN SELECT 1"), Command::Pull);
        assert_eq!(c("EXPLAIN CSAS_X_1"), Command::Weir);
        assert_eq!(c("EXPLAIN SELECT * FROM s EMIT CHANGES"), Command::Weir);
    }

    #[test]
    fn show_and_set_tell_the_dialects_apart() {
        assert_eq!(c("SHOW STREAMS"), Command::Weir);
        assert_eq!(c("SHOW ALL TOPICS"), Command::Weir);
        assert_eq!(c("LIST QUERIES"), Command::Weir);
        assert_eq!(c("SHOW ALL"), Command::ShowAll);
        assert_eq!(
            c("SHOW server_version"),
            Command::Show {
                name: "server_version".into()
            }
        );
        assert_eq!(
            c("SHOW TRANSACTION ISOLATION LEVEL"),
            Command::Show {
                name: "transaction_isolation".into()
            }
        );
        assert_eq!(c("SET 'auto.offset.reset' = 'earliest'"), Command::Weir);
        assert_eq!(
            c("SET DateStyle TO 'ISO, MDY'"),
            Command::Set {
                name: "datestyle".into(),
                value: Some("ISO, MDY".into())
            }
        );
        assert_eq!(
            c("SET SESSION search_path = public, \"$user\""),
            Command::Set {
                name: "search_path".into(),
                value: Some("public, $user".into())
            }
        );
        assert_eq!(
            c("SET TIME ZONE 'UTC'"),
            Command::Set {
                name: "TimeZone".into(),
                value: Some("UTC".into())
            }
        );
        assert_eq!(c("SET TRANSACTION ISOLATION LEVEL READ COMMITTED"), Command::SetIgnored);
        assert_eq!(
            c("SET x TO DEFAULT"),
            Command::Set {
                name: "x".into(),
                value: None
            }
        );
    }

    #[test]
    fn transactions_and_cursors() {
        assert_eq!(c("BEGIN"), Command::Begin);
        assert_eq!(c("start transaction read only"), Command::Begin);
        assert_eq!(c("END"), Command::Commit);
        assert_eq!(c("ROLLBACK TO SAVEPOINT a"), Command::Savepoint("ROLLBACK"));
        let sql = "DECLARE _psql_cursor NO SCROLL CURSOR FOR\nSELECT * FROM s EMIT CHANGES";
        assert_eq!(
            c(sql),
            Command::Declare {
                name: "_psql_cursor".into(),
                query: "SELECT * FROM s EMIT CHANGES".into()
            }
        );
        assert_eq!(
            c("FETCH FORWARD 10 FROM _psql_cursor"),
            Command::Fetch {
                name: "_psql_cursor".into(),
                count: Count::Rows(10),
                skip: false
            }
        );
        assert_eq!(
            c("FETCH ALL c"),
            Command::Fetch {
                name: "c".into(),
                count: Count::All,
                skip: false
            }
        );
        assert_eq!(
            c("FETCH c"),
            Command::Fetch {
                name: "c".into(),
                count: Count::Rows(1),
                skip: false
            }
        );
        assert_eq!(c("CLOSE ALL"), Command::Close { name: None });
        assert!(classify("FETCH PRIOR FROM c", &tokenize("FETCH PRIOR FROM c").unwrap()).is_err());
    }

    #[test]
    fn weir_statements_go_to_the_engine() {
        assert_eq!(
            c("CREATE STREAM s (a INT) WITH (kafka_topic='s', value_format='json', partitions=1)"),
            Command::Weir
        );
        assert_eq!(c("INSERT INTO s (a) VALUES (1)"), Command::Weir);
        assert_eq!(c("DESCRIBE s"), Command::Weir);
        assert_eq!(c("PRINT 's' FROM BEGINNING LIMIT 1"), Command::Weir);
        assert!(matches!(c("UPDATE s SET a = 1"), Command::Unsupported(_)));
    }
}
