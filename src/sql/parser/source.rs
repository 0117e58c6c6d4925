//! The submitted text and the mapping from `sqlparser` locations (1-based line, column counted in characters)
//! back to byte offsets, so a statement's exact text can be sliced out of the input.

use datafusion::sql::sqlparser::tokenizer::{Location, Span};

/// The submitted text, with the byte offset at which each line starts.
pub(super) struct Source<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> Source<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Source { text, line_starts }
    }

    pub(super) fn text(&self) -> &'a str {
        self.text
    }

    /// The byte offset of a location; locations past the end of a line or of the text clamp to it.
    pub(super) fn offset(&self, loc: Location) -> usize {
        let Some(line_index) = (loc.line as usize).checked_sub(1) else {
            return 0;
        };
        let Some(&line_start) = self.line_starts.get(line_index) else {
            return self.text.len();
        };
        let rest = &self.text[line_start..];
        let steps = (loc.column as usize).saturating_sub(1);
        let within = rest
            .char_indices()
            .take_while(|&(_, c)| c != '\n')
            .nth(steps)
            .map(|(i, _)| i)
            .unwrap_or_else(|| rest.find('\n').unwrap_or(rest.len()));
        line_start + within
    }

    /// The text between two locations (start inclusive, end exclusive).
    pub(super) fn slice(&self, start: Location, end: Location) -> &'a str {
        let (from, to) = (self.offset(start), self.offset(end));
        if from <= to { &self.text[from..to] } else { "" }
    }

    /// The text a token's span covers, as written (before the identifier case rule).
    pub(super) fn span_text(&self, span: Span) -> &'a str {
        self.slice(span.start, span.end)
    }
}
