//! The statements of the dialect, dispatched on their first word. `SELECT` lives in [`super::query`].

use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan};

use super::PResult;
use super::cursor::{
    eat_word, eat_words, error_at, expect_end, expect_token, expect_word, expected, is_word, peek_word,
};
use super::dialect::KsqlDialect;
use super::idents::{parse_name, parse_name_list};
use super::source::Source;
use crate::sql::ast::{
    ColumnConstraint, ColumnDef, CreateAsSelect, CreateSource, ExplainTarget, Position, ShowTarget, SourceKind,
    Statement, TerminateTarget,
};

/// The words a statement can start with, for the error when none matches.
const STATEMENT_STARTS: &str =
    "SELECT, CREATE, INSERT, DROP, SHOW, LIST, DESCRIBE, EXPLAIN, TERMINATE, PRINT, SET or UNSET";

/// Parses the statements of one `;`-delimited chunk, over `sqlparser`'s parser.
pub(super) struct StatementParser<'a> {
    pub(super) p: Parser<'a>,
    source: &'a Source<'a>,
}

/// A `sqlparser` location as an AST position.
pub(super) fn position(loc: datafusion::sql::sqlparser::tokenizer::Location) -> Position {
    Position {
        line: loc.line,
        column: loc.column,
    }
}

impl<'a> StatementParser<'a> {
    pub(super) fn new(dialect: &'a KsqlDialect, source: &'a Source<'a>, tokens: Vec<TokenWithSpan>) -> Self {
        let p = Parser::new(dialect)
            .with_recursion_limit(super::limits::EXPRESSION_DEPTH_LIMIT)
            .with_tokens_with_locations(tokens);
        StatementParser { p, source }
    }

    /// The underlying parser, for locating errors.
    pub(super) fn inner(&self) -> &Parser<'a> {
        &self.p
    }

    /// Parses the whole chunk as one statement.
    pub(super) fn parse_single_statement(&mut self) -> PResult<Statement> {
        let statement = self.parse_statement(false)?;
        expect_end(&self.p, "")?;
        Ok(statement)
    }

    /// Parses one statement; `in_explain` refuses a nested `EXPLAIN`, which also bounds the recursion.
    fn parse_statement(&mut self, in_explain: bool) -> PResult<Statement> {
        let first = self.p.peek_token();
        let word = match &first.token {
            Token::Word(w) if w.quote_style.is_none() => w.value.clone(),
            _ => return expected(format_args!("a statement ({STATEMENT_STARTS})"), &first),
        };
        match word.as_str() {
            "SELECT" => Ok(Statement::Select(Box::new(self.parse_query()?))),
            "CREATE" => self.parse_create(),
            "INSERT" => self.parse_insert(),
            "DROP" => self.parse_drop(),
            "SHOW" | "LIST" => self.parse_show(),
            "DESCRIBE" => self.parse_describe(),
            "EXPLAIN" if in_explain => Err(error_at("EXPLAIN cannot explain another EXPLAIN", first.span.start)),
            "EXPLAIN" => self.parse_explain(),
            "TERMINATE" => self.parse_terminate(),
            "PRINT" => self.parse_print(),
            "SET" => self.parse_set(),
            "UNSET" => self.parse_unset(),
            _ => expected(format_args!("a statement ({STATEMENT_STARTS})"), &first),
        }
    }

    /// `CREATE [OR REPLACE] [SOURCE] STREAM|TABLE [IF NOT EXISTS] name ...`: a source with declared columns, or
    /// `... [WITH (...)] AS SELECT`.
    fn parse_create(&mut self) -> PResult<Statement> {
        self.p.advance_token(); // CREATE
        let or_replace = eat_words(&mut self.p, &["OR", "REPLACE"]);
        let is_source = eat_word(&mut self.p, "SOURCE");
        let kind = self.parse_source_kind(if is_source {
            " after CREATE SOURCE"
        } else {
            " after CREATE"
        })?;
        let if_not_exists = eat_words(&mut self.p, &["IF", "NOT", "EXISTS"]);
        let (name, _) = parse_name(&mut self.p, &format!("a {} name", kind.as_str().to_lowercase()))?;

        if self.p.peek_token_ref().token == Token::LParen {
            let columns = self.parse_columns()?;
            let properties = self.parse_optional_with()?;
            if peek_word(&self.p, "AS") {
                let at = self.p.peek_token_ref().span.start;
                return Err(error_at("CREATE ... AS SELECT takes no column list", at));
            }
            return Ok(Statement::CreateSource(CreateSource {
                kind,
                name,
                or_replace,
                if_not_exists,
                is_source,
                columns,
                properties,
            }));
        }

        let properties = self.parse_optional_with()?;
        let next = self.p.peek_token();
        if is_word(&next.token, "AS") {
            if is_source {
                return Err(error_at(
                    "CREATE SOURCE cannot be combined with AS SELECT",
                    next.span.start,
                ));
            }
            self.p.advance_token();
            let query = self.parse_query()?;
            return Ok(Statement::CreateAsSelect(CreateAsSelect {
                kind,
                name,
                or_replace,
                if_not_exists,
                properties,
                query: Box::new(query),
            }));
        }
        if matches!(next.token, Token::EOF | Token::SemiColon) {
            // ksqlDB would read the columns from a schema registry; the planner explains that they are needed.
            return Ok(Statement::CreateSource(CreateSource {
                kind,
                name,
                or_replace,
                if_not_exists,
                is_source,
                columns: vec![],
                properties,
            }));
        }
        let message = format!(
            "Expected a column list (name type, ...) or AS SELECT, found {}; Weir needs the columns declared, \
             it does not read them from a schema registry",
            super::cursor::describe(&next)
        );
        Err(error_at(message, next.span.start))
    }

    /// `STREAM` or `TABLE`.
    fn parse_source_kind(&mut self, context: &str) -> PResult<SourceKind> {
        if eat_word(&mut self.p, "STREAM") {
            Ok(SourceKind::Stream)
        } else if eat_word(&mut self.p, "TABLE") {
            Ok(SourceKind::Table)
        } else {
            expected(format_args!("STREAM or TABLE{context}"), self.p.peek_token_ref())
        }
    }

    /// `(name type [KEY | PRIMARY KEY | HEADERS | HEADER('key')], ...)`.
    fn parse_columns(&mut self) -> PResult<Vec<ColumnDef>> {
        expect_token(&mut self.p, &Token::LParen, "")?;
        let mut columns = Vec::new();
        loop {
            let (name, _) = parse_name(&mut self.p, "a column name")?;
            let ty = super::types::parse_sql_type(&mut self.p)?;
            let constraint = self.parse_constraint()?;
            columns.push(ColumnDef { name, ty, constraint });
            if self.p.consume_token(&Token::RParen) {
                return Ok(columns);
            }
            expect_token(&mut self.p, &Token::Comma, " or ) after a column definition")?;
        }
    }

    /// The optional column constraint. Whether it suits the source kind (`KEY` for streams, `PRIMARY KEY` for
    /// tables) is the planner's check, which words it as ksqlDB does.
    fn parse_constraint(&mut self) -> PResult<ColumnConstraint> {
        if eat_words(&mut self.p, &["PRIMARY", "KEY"]) {
            Ok(ColumnConstraint::PrimaryKey)
        } else if eat_word(&mut self.p, "KEY") {
            Ok(ColumnConstraint::Key)
        } else if eat_word(&mut self.p, "HEADERS") {
            Ok(ColumnConstraint::Headers)
        } else if eat_word(&mut self.p, "HEADER") {
            expect_token(&mut self.p, &Token::LParen, " after HEADER")?;
            let key = self.parse_string("the header key")?;
            expect_token(&mut self.p, &Token::RParen, " after the header key")?;
            Ok(ColumnConstraint::Header(key))
        } else {
            Ok(ColumnConstraint::None)
        }
    }

    /// `INSERT INTO name SELECT ...` or `INSERT INTO name [(columns)] VALUES (expr, ...)`.
    fn parse_insert(&mut self) -> PResult<Statement> {
        self.p.advance_token(); // INSERT
        expect_word(&mut self.p, "INTO", " after INSERT")?;
        let (target, _) = parse_name(&mut self.p, "a stream or table name")?;
        if peek_word(&self.p, "SELECT") {
            let query = self.parse_query()?;
            return Ok(Statement::InsertSelect {
                target,
                query: Box::new(query),
            });
        }
        let columns = if self.p.peek_token_ref().token == Token::LParen {
            Some(parse_name_list(&mut self.p, "a column name")?)
        } else {
            None
        };
        if !eat_word(&mut self.p, "VALUES") {
            let what = if columns.is_some() {
                "VALUES after the column list"
            } else {
                "SELECT, VALUES or a column list"
            };
            return expected(what, self.p.peek_token_ref());
        }
        expect_token(&mut self.p, &Token::LParen, " after VALUES")?;
        let values = if self.p.consume_token(&Token::RParen) {
            Vec::new()
        } else {
            let values = self.p.parse_comma_separated(Parser::parse_expr)?;
            expect_token(&mut self.p, &Token::RParen, " or , after a value")?;
            values
        };
        Ok(Statement::InsertValues {
            target,
            columns,
            values,
        })
    }

    /// `DROP STREAM|TABLE [IF EXISTS] name [DELETE TOPIC]`.
    fn parse_drop(&mut self) -> PResult<Statement> {
        self.p.advance_token(); // DROP
        let kind = self.parse_source_kind(" after DROP")?;
        let if_exists = eat_words(&mut self.p, &["IF", "EXISTS"]);
        let (name, _) = parse_name(&mut self.p, &format!("a {} name", kind.as_str().to_lowercase()))?;
        let delete_topic = eat_words(&mut self.p, &["DELETE", "TOPIC"]);
        Ok(Statement::Drop {
            kind,
            name,
            if_exists,
            delete_topic,
        })
    }

    /// `SHOW|LIST STREAMS|TABLES|QUERIES|[ALL] TOPICS|PROPERTIES [EXTENDED]`.
    fn parse_show(&mut self) -> PResult<Statement> {
        let verb = self.p.next_token();
        let all = eat_word(&mut self.p, "ALL");
        let next = self.p.peek_token();
        let what = match &next.token {
            Token::Word(w) if w.quote_style.is_none() => match w.value.as_str() {
                "TOPICS" => Some(ShowTarget::Topics),
                "STREAMS" if !all => Some(ShowTarget::Streams),
                "TABLES" if !all => Some(ShowTarget::Tables),
                "QUERIES" if !all => Some(ShowTarget::Queries),
                "PROPERTIES" if !all => Some(ShowTarget::Properties),
                _ => None,
            },
            _ => None,
        };
        let Some(what) = what else {
            let verb = super::cursor::describe(&verb);
            return if all {
                expected(format_args!("TOPICS after {verb} ALL"), &next)
            } else {
                expected(
                    format_args!("STREAMS, TABLES, QUERIES, TOPICS or PROPERTIES after {verb}"),
                    &next,
                )
            };
        };
        self.p.advance_token();
        let extended = what != ShowTarget::Properties && eat_word(&mut self.p, "EXTENDED");
        Ok(Statement::Show { what, extended })
    }

    /// `DESCRIBE name [EXTENDED]`, or `DESCRIBE STREAMS|TABLES [EXTENDED]` (a listing).
    fn parse_describe(&mut self) -> PResult<Statement> {
        self.p.advance_token(); // DESCRIBE
        let listing = if eat_word(&mut self.p, "STREAMS") {
            Some(ShowTarget::Streams)
        } else if eat_word(&mut self.p, "TABLES") {
            Some(ShowTarget::Tables)
        } else {
            None
        };
        if let Some(what) = listing {
            let extended = eat_word(&mut self.p, "EXTENDED");
            return Ok(Statement::Show { what, extended });
        }
        // `DESCRIBE EXTENDED name` (ksqlDB's order) and `DESCRIBE name EXTENDED` both work.
        let extended_first =
            peek_word(&self.p, "EXTENDED") && !matches!(self.p.peek_nth_token(1).token, Token::EOF | Token::SemiColon);
        if extended_first {
            self.p.advance_token();
        }
        let (name, _) = parse_name(&mut self.p, "a stream or table name after DESCRIBE")?;
        let extended = extended_first || eat_word(&mut self.p, "EXTENDED");
        Ok(Statement::Describe { name, extended })
    }

    /// `EXPLAIN <statement>` or `EXPLAIN <query id>`.
    fn parse_explain(&mut self) -> PResult<Statement> {
        self.p.advance_token(); // EXPLAIN
        const STATEMENTS: &[&str] = &[
            "SELECT",
            "CREATE",
            "INSERT",
            "DROP",
            "SHOW",
            "LIST",
            "DESCRIBE",
            "EXPLAIN",
            "TERMINATE",
            "PRINT",
            "SET",
            "UNSET",
        ];
        if STATEMENTS.iter().any(|w| peek_word(&self.p, w)) {
            let statement = self.parse_statement(true)?;
            return Ok(Statement::Explain(ExplainTarget::Statement(Box::new(statement))));
        }
        let id = self.parse_query_id("a statement or a query id after EXPLAIN")?;
        Ok(Statement::Explain(ExplainTarget::QueryId(id)))
    }

    /// `TERMINATE ALL` or `TERMINATE <query id>`.
    fn parse_terminate(&mut self) -> PResult<Statement> {
        self.p.advance_token(); // TERMINATE
        if eat_word(&mut self.p, "ALL") {
            return Ok(Statement::Terminate(TerminateTarget::All));
        }
        let id = self.parse_query_id("ALL or a query id after TERMINATE")?;
        Ok(Statement::Terminate(TerminateTarget::Query(id)))
    }

    /// A query id: an identifier (case rule applies) or a single-quoted string (kept as written).
    fn parse_query_id(&mut self, what: &str) -> PResult<String> {
        let token = self.p.peek_token();
        match &token.token {
            Token::SingleQuotedString(s) if !s.is_empty() => {
                self.p.advance_token();
                Ok(s.clone())
            }
            _ => parse_name(&mut self.p, what).map(|(name, _)| name),
        }
    }

    /// `PRINT 'topic' | topic [FROM BEGINNING] [INTERVAL|SAMPLE n] [LIMIT n]`. Topic names are case-sensitive, so
    /// an unquoted one is kept as written, as ksqlDB does.
    fn parse_print(&mut self) -> PResult<Statement> {
        self.p.advance_token(); // PRINT
        let token = self.p.next_token();
        let topic = match &token.token {
            Token::SingleQuotedString(s) if !s.is_empty() => s.clone(),
            Token::Word(w) if w.quote_style.is_some() && !w.value.is_empty() => w.value.clone(),
            Token::Word(w) if w.quote_style.is_none() => self.source.span_text(token.span).to_string(),
            _ => return expected("a topic name after PRINT", &token),
        };
        let from_beginning = eat_words(&mut self.p, &["FROM", "BEGINNING"]);
        let interval = if eat_word(&mut self.p, "INTERVAL") || eat_word(&mut self.p, "SAMPLE") {
            Some(super::cursor::parse_u64(&mut self.p, "the interval")?.0)
        } else {
            None
        };
        let limit = if eat_word(&mut self.p, "LIMIT") {
            Some(super::cursor::parse_u64(&mut self.p, "the limit")?.0)
        } else {
            None
        };
        Ok(Statement::Print {
            topic,
            from_beginning,
            interval,
            limit,
        })
    }

    /// `SET 'name' = 'value'`.
    fn parse_set(&mut self) -> PResult<Statement> {
        self.p.advance_token(); // SET
        let name = self.parse_string("a property name in quotes after SET")?;
        expect_token(&mut self.p, &Token::Eq, " after the property name")?;
        let value = self.parse_string("a property value in quotes")?;
        Ok(Statement::Set { name, value })
    }

    /// `UNSET 'name'`.
    fn parse_unset(&mut self) -> PResult<Statement> {
        self.p.advance_token(); // UNSET
        let name = self.parse_string("a property name in quotes after UNSET")?;
        Ok(Statement::Unset { name })
    }

    /// A single-quoted string literal.
    fn parse_string(&mut self, what: &str) -> PResult<String> {
        let token = self.p.next_token();
        match &token.token {
            Token::SingleQuotedString(s) => Ok(s.clone()),
            _ => expected(what, &token),
        }
    }
}
