//! A small SQL lexer, enough to split a simple query into statements, read their leading keywords, parse the
//! session commands (`SET`, `SHOW`, `DECLARE`, `FETCH`, ...) and replace `$n` parameters by literals in Weir
//! statements. It knows both dialects' quoting: `'...'` (with `''`), `E'...'` (with backslash escapes), `$tag$...$tag$`,
//! `"..."` and ksqlDB's `` `...` ``, and `--` / nested `/* */` comments.

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A keyword or unquoted identifier.
    Word,
    /// `"..."` or `` `...` ``: the text is the identifier without quotes.
    QuotedIdent,
    /// A string literal: the text is its value.
    String,
    Number,
    /// `$1`: the text is the number.
    Placeholder,
    /// `;`
    Semicolon,
    /// Any other character (operators, parentheses, commas).
    Punct,
}

/// One token and where it is in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub text: String,
    /// Byte range in the source.
    pub start: usize,
    pub end: usize,
}

impl Token {
    /// Whether this is the keyword `kw` (case-insensitive).
    pub fn is(&self, kw: &str) -> bool {
        self.kind == Kind::Word && self.text.eq_ignore_ascii_case(kw)
    }
}

/// Why text could not be tokenized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LexError {
    #[error("unterminated quoted string at or near position {0}")]
    UnterminatedString(usize),
    #[error("unterminated quoted identifier at or near position {0}")]
    UnterminatedIdentifier(usize),
    #[error("unterminated /* comment at or near position {0}")]
    UnterminatedComment(usize),
}

/// Tokenizes `sql`, leaving out whitespace and comments.
pub fn tokenize(sql: &str) -> Result<Vec<Token>, LexError> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0c => i += 1,
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                loop {
                    if i + 1 >= bytes.len() {
                        return Err(LexError::UnterminatedComment(start));
                    }
                    if bytes[i] == b'/' && bytes[i + 1] == b'*' {
                        depth += 1;
                        i += 2;
                    } else if bytes[i] == b'*' && bytes[i + 1] == b'/' {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            b'\'' => {
                let (value, end) = quoted(sql, i, b'\'', false).ok_or(LexError::UnterminatedString(start))?;
                i = end;
                out.push(tok(Kind::String, value, start, i));
            }
            b'e' | b'E' if bytes.get(i + 1) == Some(&b'\'') => {
                let (value, end) = quoted(sql, i + 1, b'\'', true).ok_or(LexError::UnterminatedString(start))?;
                i = end;
                out.push(tok(Kind::String, value, start, i));
            }
            b'"' | b'`' => {
                let (value, end) = quoted(sql, i, c, false).ok_or(LexError::UnterminatedIdentifier(start))?;
                i = end;
                out.push(tok(Kind::QuotedIdent, value, start, i));
            }
            b'$' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                out.push(tok(Kind::Placeholder, sql[start + 1..i].to_string(), start, i));
            }
            b'$' => {
                // `$tag$ ... $tag$` (the tag may be empty).
                let mut j = i + 1;
                while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
                    j += 1;
                }
                if bytes.get(j) == Some(&b'$') {
                    let delimiter = &sql[i..=j];
                    let body_start = j + 1;
                    match sql[body_start..].find(delimiter) {
                        Some(k) => {
                            let value = sql[body_start..body_start + k].to_string();
                            i = body_start + k + delimiter.len();
                            out.push(tok(Kind::String, value, start, i));
                        }
                        None => return Err(LexError::UnterminatedString(start)),
                    }
                } else {
                    i += 1;
                    out.push(tok(Kind::Punct, "$".into(), start, i));
                }
            }
            b';' => {
                i += 1;
                out.push(tok(Kind::Semicolon, ";".into(), start, i));
            }
            c if c.is_ascii_digit() || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || bytes[i] == b'.'
                        || ((bytes[i] == b'+' || bytes[i] == b'-') && matches!(bytes[i - 1], b'e' | b'E')))
                {
                    i += 1;
                }
                out.push(tok(Kind::Number, sql[start..i].to_string(), start, i));
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'$' || bytes[i] >= 0x80)
                {
                    i += 1;
                }
                out.push(tok(Kind::Word, sql[start..i].to_string(), start, i));
            }
            _ => {
                let ch = sql[i..].chars().next().unwrap_or('?');
                i += ch.len_utf8();
                out.push(tok(Kind::Punct, ch.to_string(), start, i));
            }
        }
    }
    Ok(out)
}

fn tok(kind: Kind, text: String, start: usize, end: usize) -> Token {
    Token { kind, text, start, end }
}

/// Reads a quoted token starting at `open` (the quote character); doubled quotes are one quote, and with
/// `escapes` backslash sequences are decoded. Returns the value and the index after the closing quote.
fn quoted(sql: &str, open: usize, quote: u8, escapes: bool) -> Option<(String, usize)> {
    let bytes = sql.as_bytes();
    let mut value = Vec::new();
    let mut i = open + 1;
    while i < bytes.len() {
        let c = bytes[i];
        if escapes && c == b'\\' {
            let next = *bytes.get(i + 1)?;
            value.push(match next {
                b'n' => b'\n',
                b't' => b'\t',
                b'r' => b'\r',
                b'b' => 0x08,
                b'f' => 0x0c,
                other => other,
            });
            i += 2;
        } else if c == quote {
            if bytes.get(i + 1) == Some(&quote) {
                value.push(quote);
                i += 2;
            } else {
                return Some((String::from_utf8_lossy(&value).into_owned(), i + 1));
            }
        } else {
            value.push(c);
            i += 1;
        }
    }
    None
}

/// The statements of a simple query: their source text (without the `;`) and tokens. Empty statements are left
/// out.
pub fn split_statements(sql: &str) -> Result<Vec<(String, Vec<Token>)>, LexError> {
    let tokens = tokenize(sql)?;
    let mut out = Vec::new();
    let mut current: Vec<Token> = Vec::new();
    for t in tokens {
        if t.kind == Kind::Semicolon {
            if let Some(s) = statement_of(sql, std::mem::take(&mut current)) {
                out.push(s);
            }
        } else {
            current.push(t);
        }
    }
    if let Some(s) = statement_of(sql, current) {
        out.push(s);
    }
    Ok(out)
}

fn statement_of(sql: &str, tokens: Vec<Token>) -> Option<(String, Vec<Token>)> {
    let first = tokens.first()?.start;
    let last = tokens.last()?.end;
    let text = sql.get(first..last)?.to_string();
    // Positions relative to the statement's own text.
    let tokens = tokens
        .into_iter()
        .map(|mut t| {
            t.start -= first;
            t.end -= first;
            t
        })
        .collect();
    Some((text, tokens))
}

/// Replaces each `$n` token of `sql` by `literals[n - 1]`.
pub fn substitute(sql: &str, tokens: &[Token], literals: &[String]) -> Result<String, String> {
    let mut out = String::with_capacity(sql.len());
    let mut last = 0;
    for t in tokens.iter().filter(|t| t.kind == Kind::Placeholder) {
        let n: usize = t.text.parse().map_err(|_| format!("invalid parameter ${}", t.text))?;
        let literal = n
            .checked_sub(1)
            .and_then(|i| literals.get(i))
            .ok_or_else(|| format!("there is no parameter ${n}"))?;
        out.push_str(sql.get(last..t.start).unwrap_or(""));
        out.push_str(literal);
        last = t.end;
    }
    out.push_str(sql.get(last..).unwrap_or(""));
    Ok(out)
}

/// A string literal in SQL: `'it''s'`.
pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The highest `$n` in the tokens (0 for none).
pub fn max_placeholder(tokens: &[Token]) -> usize {
    tokens
        .iter()
        .filter(|t| t.kind == Kind::Placeholder)
        .filter_map(|t| t.text.parse::<usize>().ok())
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_outside_quotes_and_comments() {
        let sql = "SELECT 'a;b', \"x;y\", `p;q` FROM t; -- c;\n/* d; /* nested; */ */ SHOW STREAMS ;; SELECT $$;$$";
        let parts: Vec<String> = split_statements(sql).unwrap().into_iter().map(|(s, _)| s).collect();
        assert_eq!(
            parts,
            ["SELECT 'a;b', \"x;y\", `p;q` FROM t", "SHOW STREAMS", "SELECT $$;$$"]
        );
    }

    #[test]
    fn escape_strings_decode() {
        let t = tokenize(r"SELECT E'a\nb''c', 'it''s'").unwrap();
        assert_eq!(t[1].text, "a\nb'c");
        assert_eq!(t[3].text, "it's");
    }

    #[test]
    fn placeholders_are_substituted_outside_strings() {
        let sql = "INSERT INTO s (a, b) VALUES ($1, '$2 stays', $2)";
        let tokens = tokenize(sql).unwrap();
        assert_eq!(max_placeholder(&tokens), 2);
        let out = substitute(sql, &tokens, &["42".into(), quote_literal("o'k")]).unwrap();
        assert_eq!(out, "INSERT INTO s (a, b) VALUES (42, '$2 stays', 'o''k')");
        assert!(substitute(sql, &tokens, &["1".into()]).is_err());
    }

    #[test]
    fn unterminated_input_is_an_error() {
        assert!(tokenize("SELECT 'abc").is_err());
        assert!(tokenize("SELECT /* abc").is_err());
        assert!(tokenize("SELECT \"abc").is_err());
    }
}
