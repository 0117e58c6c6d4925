//! `WITH (key = value, ...)`: the properties of `CREATE STREAM|TABLE`. Keys are case-insensitive (upper-cased)
//! and may be written as identifiers or strings; values are single-quoted strings, numbers or booleans. Unknown
//! keys are kept for the planner to reject with its own message; a key given twice is refused here, where both
//! positions are known.

use datafusion::sql::sqlparser::tokenizer::Token;

use super::PResult;
use super::cursor::{eat_word, error_at, expect_token, expected};
use super::statements::{StatementParser, position};
use crate::sql::ast::{PropertyValue, WithProperties};

impl StatementParser<'_> {
    /// `[WITH (key = value, ...)]`: keys upper-cased, duplicates refused where the second one is.
    pub(super) fn parse_optional_with(&mut self) -> PResult<WithProperties> {
        let mut properties = WithProperties::default();
        if !eat_word(&mut self.p, "WITH") {
            return Ok(properties);
        }
        expect_token(&mut self.p, &Token::LParen, " after WITH")?;
        loop {
            let key_token = self.p.next_token();
            let key = match &key_token.token {
                Token::Word(w) if !w.value.is_empty() => w.value.to_uppercase(),
                Token::SingleQuotedString(s) if !s.is_empty() => s.to_uppercase(),
                _ => return expected("a property name", &key_token),
            };
            let at = position(key_token.span.start);
            if let Some((_, _, first)) = properties.entries.iter().find(|(k, _, _)| *k == key) {
                return Err(error_at(
                    format!(
                        "Duplicate property {key} (first set at line {}, column {})",
                        first.line, first.column
                    ),
                    key_token.span.start,
                ));
            }
            expect_token(&mut self.p, &Token::Eq, &format!(" after property {key}"))?;
            let value = self.parse_property_value(&key)?;
            properties.entries.push((key, value, at));
            if self.p.consume_token(&Token::RParen) {
                return Ok(properties);
            }
            expect_token(&mut self.p, &Token::Comma, " or ) after a property")?;
        }
    }

    /// A property value: a single-quoted string, a number (optionally negative) or a boolean.
    fn parse_property_value(&mut self, key: &str) -> PResult<PropertyValue> {
        let token = self.p.next_token();
        match &token.token {
            Token::SingleQuotedString(s) => Ok(PropertyValue::String(s.clone())),
            Token::Number(n, _) => Ok(PropertyValue::Number(n.clone())),
            Token::Minus => {
                let number = self.p.next_token();
                match &number.token {
                    Token::Number(n, _) => Ok(PropertyValue::Number(format!("-{n}"))),
                    _ => expected(format_args!("a number after - in property {key}"), &number),
                }
            }
            Token::Word(w) if w.quote_style.is_none() && w.value == "TRUE" => Ok(PropertyValue::Boolean(true)),
            Token::Word(w) if w.quote_style.is_none() && w.value == "FALSE" => Ok(PropertyValue::Boolean(false)),
            _ => expected(
                format_args!("a value for property {key} (a 'string', a number, TRUE or FALSE)"),
                &token,
            ),
        }
    }
}
