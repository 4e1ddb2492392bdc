//! Parses MLflow search filters and `order_by` clauses into [`Comparison`]s and [`OrderBy`]s.
//!
//! MLflow parses these strings with `sqlparse` and then checks the pieces in
//! `mlflow/utils/search_utils.py`. Here a small tokenizer and a flat parser do the same job
//! without SQL: a filter is `clause (AND clause)*`, a clause is
//! `identifier comparator value`, and an `order_by` clause is `identifier [ASC|DESC]`.
//!
//! What a search accepts depends on its [`SearchKind`]. The allowed entities, attribute keys,
//! aliases and comparators are listed in the tables below, and every rejection is an
//! INVALID_PARAMETER_VALUE error that names the bad piece and what would be allowed instead.
//!
//! The input comes straight from HTTP requests. Nothing here panics: slices are taken only at
//! token boundaries, through `str::get`, and lookahead goes through `Option`s.

use super::Comparator as C;
use super::{Comparator, Comparison, Entity, OrderBy, SearchKind, Value};
use crate::error::{Error, Result};

/// Parses a search filter such as ``metrics.acc > 0.9 AND tags.`mlflow.runName` LIKE 'a%'``.
///
/// An empty or all-whitespace filter matches everything and yields no comparisons. Keywords
/// (`AND`, `LIKE`, `IN`, `IS NULL`, …) are case-insensitive. Attribute keys come back in their
/// canonical spelling (`created` becomes `start_time`, `"run name"` becomes `run_name`).
///
/// # Errors
///
/// [`Error::invalid`] for anything MLflow would reject: `OR`, unknown entities or attribute keys,
/// a comparator the key does not support, a value of the wrong type, unterminated quotes, and
/// trailing text that is not joined with `AND`.
pub fn parse_filter(kind: SearchKind, filter: &str) -> Result<Vec<Comparison>> {
    if filter.trim().is_empty() {
        return Ok(Vec::new());
    }
    let tokens = tokenize(filter).map_err(|detail| {
        Error::invalid(format!(
            "Error on parsing filter '{}': {detail}",
            excerpt(filter)
        ))
    })?;
    // MLflow has no OR at all, so reject it wherever it appears instead of reporting a
    // confusing "trailing text" error at the first OR.
    if let Some(or_token) = tokens.iter().find(|token| token.is_keyword("OR")) {
        return Err(Error::invalid(format!(
            "Invalid clause(s) in filter string: '{}'. Search filters only support AND between clauses",
            slice(filter, or_token.start, or_token.end)
        )));
    }

    let mut parser = Parser::new(kind, filter, tokens);
    let mut comparisons = Vec::new();
    loop {
        comparisons.push(parser.comparison()?);
        let Some(token) = parser.advance() else {
            break;
        };
        if !token.is_keyword("AND") {
            return Err(Error::invalid(format!(
                "Invalid clause(s) in filter string: '{}'. Join comparisons with AND, e.g. \
                 metrics.acc > 0.9 AND params.lr = '0.01'",
                parser.rest_from(&token)
            )));
        }
        if parser.peek().is_none() {
            return Err(Error::invalid(format!(
                "Invalid filter '{}': it ends with AND. Expected another comparison after AND",
                excerpt(filter)
            )));
        }
    }
    Ok(comparisons)
}

/// Parses one `order_by` clause, `"<identifier> [ASC|DESC]"`, e.g. ``metrics.`val loss` DESC``.
///
/// The direction is case-insensitive and defaults to ascending. Keys follow the same identifier
/// rules as [`parse_filter`]; attribute keys come back canonical (`created` → `start_time`,
/// `timestamp` → `creation_timestamp` for registered models).
///
/// # Errors
///
/// [`Error::invalid`] with MLflow's "Invalid order_by clause '…'" wording when the clause is
/// empty, names a key or entity the search cannot order by, has a direction other than
/// ASC/DESC, or has anything after the direction.
pub fn parse_order_by(kind: SearchKind, clause: &str) -> Result<OrderBy> {
    let invalid = |detail: String| {
        Error::invalid(format!(
            "Invalid order_by clause '{}': {detail}",
            excerpt(clause)
        ))
    };
    let tokens = tokenize(clause).map_err(invalid)?;
    Parser::new(kind, clause, tokens)
        .order_by()
        .map_err(|error| invalid(lowercase_first(&error.message)))
}

// ---------------------------------------------------------------------------------------------
// What each kind of search accepts.
// ---------------------------------------------------------------------------------------------

/// Whether a comparison needs a number or a quoted string on its right-hand side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueKind {
    /// A quoted string.
    Text,
    /// A numeric literal.
    Number,
    /// A numeric literal or a quoted number. MLflow's model-version search compares
    /// `version_number` with `int(value)`, so `version_number = '3'` works there too.
    LenientNumber,
}

/// A filterable attribute: its canonical key, the other spellings MLflow accepts for it, and
/// what it can be compared with.
struct AttributeSpec {
    key: &'static str,
    aliases: &'static [&'static str],
    comparators: &'static [Comparator],
    value_kind: ValueKind,
}

/// An attribute that `order_by` accepts, with its alternative spellings.
struct OrderKey {
    key: &'static str,
    aliases: &'static [&'static str],
}

const NUMERIC: &[Comparator] = &[C::Eq, C::Ne, C::Lt, C::Le, C::Gt, C::Ge];
const NUMERIC_OR_IN: &[Comparator] = &[C::Eq, C::Ne, C::Lt, C::Le, C::Gt, C::Ge, C::In];
const STRING: &[Comparator] = &[C::Eq, C::Ne, C::Like, C::ILike];
const STRING_OR_NULL: &[Comparator] = &[C::Eq, C::Ne, C::Like, C::ILike, C::IsNull, C::IsNotNull];
const STRING_OR_IN: &[Comparator] = &[C::Eq, C::Ne, C::Like, C::ILike, C::In];
const STRING_OR_LIST: &[Comparator] = &[C::Eq, C::Ne, C::Like, C::ILike, C::In, C::NotIn];
const EQUALITY_OR_IN: &[Comparator] = &[C::Eq, C::Ne, C::In];

/// Shorthand for the attribute tables below.
const fn attr(
    key: &'static str,
    aliases: &'static [&'static str],
    comparators: &'static [Comparator],
    value_kind: ValueKind,
) -> AttributeSpec {
    AttributeSpec {
        key,
        aliases,
        comparators,
        value_kind,
    }
}

const RUN_ID_ALIASES: &[&str] = &["Run ID", "run id"];
const RUN_NAME_ALIASES: &[&str] = &["run name", "Run name", "Run Name"];
const START_TIME_ALIASES: &[&str] = &["created", "Created"];
const STATUS_ALIASES: &[&str] = &["Status"];

/// `runs/search`: only `run_id` takes lists, as in MLflow (`_get_value`).
const RUN_ATTRIBUTES: &[AttributeSpec] = &[
    attr("run_id", RUN_ID_ALIASES, STRING_OR_LIST, ValueKind::Text),
    attr("run_name", RUN_NAME_ALIASES, STRING, ValueKind::Text),
    attr("status", STATUS_ALIASES, STRING, ValueKind::Text),
    attr("user_id", &[], STRING, ValueKind::Text),
    attr("artifact_uri", &[], STRING, ValueKind::Text),
    attr("lifecycle_stage", &[], STRING, ValueKind::Text),
    attr("start_time", START_TIME_ALIASES, NUMERIC, ValueKind::Number),
    attr("end_time", &[], NUMERIC, ValueKind::Number),
];

const EXPERIMENT_ATTRIBUTES: &[AttributeSpec] = &[
    attr("name", &[], STRING, ValueKind::Text),
    attr("experiment_id", &[], EQUALITY_OR_IN, ValueKind::Text),
    attr("creation_time", &[], NUMERIC, ValueKind::Number),
    attr("last_update_time", &[], NUMERIC, ValueKind::Number),
];

const REGISTERED_MODEL_ATTRIBUTES: &[AttributeSpec] =
    &[attr("name", &[], STRING_OR_IN, ValueKind::Text)];

const MODEL_VERSION_ATTRIBUTES: &[AttributeSpec] = &[
    attr("name", &[], STRING_OR_IN, ValueKind::Text),
    attr(
        "version_number",
        &["version"],
        NUMERIC_OR_IN,
        ValueKind::LenientNumber,
    ),
    attr("run_id", &[], EQUALITY_OR_IN, ValueKind::Text),
    attr("source_path", &[], STRING, ValueKind::Text),
];

const LOGGED_MODEL_ATTRIBUTES: &[AttributeSpec] = &[
    attr("name", &[], STRING_OR_IN, ValueKind::Text),
    attr("model_id", &[], STRING_OR_IN, ValueKind::Text),
    attr("status", &[], STRING_OR_IN, ValueKind::Text),
    attr("source_run_id", &[], STRING_OR_IN, ValueKind::Text),
    attr("model_type", &[], STRING_OR_IN, ValueKind::Text),
    attr(
        "creation_timestamp",
        &["creation_time"],
        NUMERIC,
        ValueKind::Number,
    ),
    attr(
        "last_updated_timestamp",
        &["last_updated_time"],
        NUMERIC,
        ValueKind::Number,
    ),
];

/// Keys of `datasets.<key>` (runs only).
const DATASET_KEYS: &[&str] = &["name", "digest", "context"];

const fn order_key(key: &'static str, aliases: &'static [&'static str]) -> OrderKey {
    OrderKey { key, aliases }
}

const RUN_ORDER_KEYS: &[OrderKey] = &[
    order_key("start_time", START_TIME_ALIASES),
    order_key("end_time", &[]),
    order_key("run_name", RUN_NAME_ALIASES),
    order_key("status", STATUS_ALIASES),
    order_key("run_id", RUN_ID_ALIASES),
    order_key("user_id", &[]),
    order_key("artifact_uri", &[]),
];

const EXPERIMENT_ORDER_KEYS: &[OrderKey] = &[
    order_key("name", &[]),
    order_key("experiment_id", &[]),
    order_key("creation_time", &[]),
    order_key("last_update_time", &[]),
];

/// MLflow's registered-model search still accepts the old `timestamp` spelling.
const REGISTERED_MODEL_ORDER_KEYS: &[OrderKey] = &[
    order_key("name", &[]),
    order_key("creation_timestamp", &["timestamp"]),
    order_key("last_updated_timestamp", &[]),
];

const MODEL_VERSION_ORDER_KEYS: &[OrderKey] = &[
    order_key("name", &[]),
    order_key("version_number", &["version"]),
    order_key("creation_timestamp", &[]),
    order_key("last_updated_timestamp", &[]),
];

/// MLflow orders logged models by any of their searchable attributes.
const LOGGED_MODEL_ORDER_KEYS: &[OrderKey] = &[
    order_key("name", &[]),
    order_key("creation_timestamp", &["creation_time"]),
    order_key("last_updated_timestamp", &["last_updated_time"]),
    order_key("model_id", &[]),
    order_key("status", &[]),
    order_key("source_run_id", &[]),
    order_key("model_type", &[]),
];

fn filter_attributes(kind: SearchKind) -> &'static [AttributeSpec] {
    match kind {
        SearchKind::Runs => RUN_ATTRIBUTES,
        SearchKind::Experiments => EXPERIMENT_ATTRIBUTES,
        SearchKind::RegisteredModels => REGISTERED_MODEL_ATTRIBUTES,
        SearchKind::ModelVersions => MODEL_VERSION_ATTRIBUTES,
        SearchKind::LoggedModels => LOGGED_MODEL_ATTRIBUTES,
    }
}

fn order_keys(kind: SearchKind) -> &'static [OrderKey] {
    match kind {
        SearchKind::Runs => RUN_ORDER_KEYS,
        SearchKind::Experiments => EXPERIMENT_ORDER_KEYS,
        SearchKind::RegisteredModels => REGISTERED_MODEL_ORDER_KEYS,
        SearchKind::ModelVersions => MODEL_VERSION_ORDER_KEYS,
        SearchKind::LoggedModels => LOGGED_MODEL_ORDER_KEYS,
    }
}

/// Whether an identifier is being read for a filter or for an `order_by` clause; they allow
/// different entities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    Filter,
    OrderBy,
}

/// Which entities a search accepts. This is the only place that decides it; the error
/// messages list the allowed prefixes from here too.
fn entity_allowed(kind: SearchKind, context: Context, entity: Entity) -> bool {
    use SearchKind::{LoggedModels, Runs};
    match entity {
        Entity::Attribute => true,
        Entity::Metric => matches!(kind, Runs | LoggedModels),
        Entity::Param => kind == Runs || (kind == LoggedModels && context == Context::Filter),
        Entity::Tag => kind == Runs || context == Context::Filter,
        Entity::Dataset => kind == Runs && context == Context::Filter,
    }
}

/// The entity an identifier prefix names (the part before the first dot), case-insensitively.
fn entity_for_prefix(prefix: &str) -> Option<Entity> {
    match prefix.to_ascii_lowercase().as_str() {
        "metric" | "metrics" => Some(Entity::Metric),
        "param" | "params" | "parameter" | "parameters" => Some(Entity::Param),
        "tag" | "tags" => Some(Entity::Tag),
        "attribute" | "attributes" | "attr" | "run" => Some(Entity::Attribute),
        "dataset" | "datasets" => Some(Entity::Dataset),
        _ => None,
    }
}

/// The prefixes a search accepts, for error messages, e.g. "metrics, params, tags, attributes".
fn allowed_prefixes(kind: SearchKind, context: Context) -> String {
    [
        (Entity::Metric, "metrics"),
        (Entity::Param, "params"),
        (Entity::Tag, "tags"),
        (Entity::Attribute, "attributes"),
        (Entity::Dataset, "datasets"),
    ]
    .iter()
    .filter(|(entity, _)| entity_allowed(kind, context, *entity))
    .map(|(_, prefix)| *prefix)
    .collect::<Vec<_>>()
    .join(", ")
}

fn kind_label(kind: SearchKind) -> &'static str {
    match kind {
        SearchKind::Runs => "runs",
        SearchKind::Experiments => "experiments",
        SearchKind::RegisteredModels => "registered models",
        SearchKind::ModelVersions => "model versions",
        SearchKind::LoggedModels => "logged models",
    }
}

fn entity_label(entity: Entity) -> &'static str {
    match entity {
        Entity::Metric => "metric",
        Entity::Param => "param",
        Entity::Tag => "tag",
        Entity::Attribute => "attribute",
        Entity::Dataset => "dataset key",
    }
}

fn comparator_str(comparator: Comparator) -> &'static str {
    match comparator {
        C::Eq => "=",
        C::Ne => "!=",
        C::Lt => "<",
        C::Le => "<=",
        C::Gt => ">",
        C::Ge => ">=",
        C::Like => "LIKE",
        C::ILike => "ILIKE",
        C::In => "IN",
        C::NotIn => "NOT IN",
        C::IsNull => "IS NULL",
        C::IsNotNull => "IS NOT NULL",
    }
}

fn join_comparators(comparators: &[Comparator]) -> String {
    comparators
        .iter()
        .map(|comparator| comparator_str(*comparator))
        .collect::<Vec<_>>()
        .join(", ")
}

const ALL_COMPARATORS: &str = "=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL, IS NOT NULL";

/// Words that can never be a bare key. Catching them where a key is expected gives "expected a
/// comparison" instead of the misleading "Invalid attribute key 'AND'".
const RESERVED_WORDS: &[&str] = &[
    "AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "ILIKE", "ASC", "DESC",
];

fn is_reserved(word: &str) -> bool {
    RESERVED_WORDS
        .iter()
        .any(|reserved| reserved.eq_ignore_ascii_case(word))
}

// ---------------------------------------------------------------------------------------------
// Tokenizer.
// ---------------------------------------------------------------------------------------------

/// One piece of a dotted identifier, e.g. `tags`, `` `mlflow.runName` `` or `"my metric"`.
#[derive(Debug, Clone, PartialEq)]
struct Segment {
    /// The text with quotes removed and escapes resolved.
    text: String,
    /// The quote character it was written with (`"` or `` ` ``), if any.
    quote: Option<char>,
}

#[derive(Debug, Clone, PartialEq)]
enum TokenKind {
    /// A bare word or a dotted chain of words and quoted names written without spaces, such as
    /// ``tags.`mlflow.runName` ``. Keywords (AND, LIKE, …) are one-segment unquoted identifiers.
    Identifier(Vec<Segment>),
    /// A single-quoted string literal, unescaped.
    String(String),
    Number(f64),
    /// `=`, `!=`, `<`, `<=`, `>`, `>=`, and the unsupported `==` and `<>` (kept so that the
    /// error can suggest the right spelling).
    Operator(&'static str),
    OpenParen,
    CloseParen,
    Comma,
}

#[derive(Debug, Clone, PartialEq)]
struct Token {
    kind: TokenKind,
    /// Byte offsets into the source. Both lie on character boundaries.
    start: usize,
    end: usize,
}

impl Token {
    /// The word, if this token is a bare unquoted word (a keyword candidate).
    fn keyword(&self) -> Option<&str> {
        match &self.kind {
            TokenKind::Identifier(segments) => match segments.as_slice() {
                [Segment { text, quote: None }] => Some(text),
                _ => None,
            },
            _ => None,
        }
    }

    fn is_keyword(&self, word: &str) -> bool {
        self.keyword()
            .is_some_and(|keyword| keyword.eq_ignore_ascii_case(word))
    }
}

/// The source text between two byte offsets, or "" if they are not valid boundaries (they always
/// are; this keeps a mistake from turning into a panic).
fn slice(source: &str, start: usize, end: usize) -> &str {
    source.get(start..end).unwrap_or_default()
}

/// At most 100 characters of `text`, so a huge filter cannot blow up an error message.
fn excerpt(text: &str) -> String {
    const EXCERPT_CHARS: usize = 100;
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(EXCERPT_CHARS).collect();
    if chars.next().is_some() {
        format!("{head}...")
    } else {
        head
    }
}

/// `text` with its first character lowercased, so that a shared message reads well after the
/// "Invalid order_by clause '…': " prefix.
fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Splits `source` into tokens. Errors are details without the "Invalid filter" prefix, which
/// the caller adds because only it knows whether this is a filter or an `order_by` clause.
fn tokenize(source: &str) -> std::result::Result<Vec<Token>, String> {
    let mut lexer = Lexer {
        source,
        chars: source.char_indices().collect(),
        idx: 0,
    };
    let mut tokens = Vec::new();
    while let Some(c) = lexer.peek(0) {
        if c.is_whitespace() {
            lexer.idx += 1;
            continue;
        }
        let start = lexer.offset();
        let kind = match c {
            '\'' => TokenKind::String(lexer.quoted('\'')?),
            '(' | ')' | ',' => {
                lexer.idx += 1;
                match c {
                    '(' => TokenKind::OpenParen,
                    ')' => TokenKind::CloseParen,
                    _ => TokenKind::Comma,
                }
            }
            '=' | '!' | '<' | '>' => TokenKind::Operator(lexer.operator()?),
            _ if lexer.at_number() => TokenKind::Number(lexer.number()?),
            _ if c.is_alphabetic() || c == '_' || c == '"' || c == '`' => {
                TokenKind::Identifier(lexer.identifier()?)
            }
            _ => {
                return Err(format!(
                    "unexpected character '{c}' at position {}. Quote keys that contain special \
                     characters with backticks, e.g. tags.`my-key`, and string values with \
                     single quotes",
                    lexer.idx + 1
                ));
            }
        };
        tokens.push(Token {
            kind,
            start,
            end: lexer.offset(),
        });
    }
    Ok(tokens)
}

struct Lexer<'a> {
    source: &'a str,
    /// The characters with their byte offsets, so lookahead and slicing never split UTF-8.
    chars: Vec<(usize, char)>,
    /// Index into `chars` of the next unread character.
    idx: usize,
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.idx + ahead).map(|&(_, c)| c)
    }

    /// The byte offset of the next unread character (the source length at the end).
    fn offset(&self) -> usize {
        self.chars
            .get(self.idx)
            .map_or(self.source.len(), |&(offset, _)| offset)
    }

    /// Reads a quoted run starting at the opening `quote`. Inside it, a doubled quote or a
    /// backslash-escaped quote stands for the quote itself and `\\` for one backslash; any other
    /// backslash is kept, so LIKE patterns such as `'a\_b'` reach the store unchanged.
    fn quoted(&mut self, quote: char) -> std::result::Result<String, String> {
        let start_idx = self.idx;
        let start = self.offset();
        self.idx += 1;
        let mut text = String::new();
        loop {
            match self.peek(0) {
                None => {
                    let what = if quote == '\'' {
                        "string literal"
                    } else {
                        "quoted name"
                    };
                    return Err(format!(
                        "unterminated {what} starting at position {}: {}. Close it with a \
                         matching {quote} (write {quote}{quote} for a {quote} inside it)",
                        start_idx + 1,
                        excerpt(self.source.get(start..).unwrap_or_default())
                    ));
                }
                Some('\\') => match self.peek(1) {
                    Some(escaped) if escaped == quote || escaped == '\\' => {
                        text.push(escaped);
                        self.idx += 2;
                    }
                    _ => {
                        text.push('\\');
                        self.idx += 1;
                    }
                },
                Some(c) if c == quote => {
                    if self.peek(1) == Some(quote) {
                        text.push(quote);
                        self.idx += 2;
                    } else {
                        self.idx += 1;
                        return Ok(text);
                    }
                }
                Some(c) => {
                    text.push(c);
                    self.idx += 1;
                }
            }
        }
    }

    fn operator(&mut self) -> std::result::Result<&'static str, String> {
        let (operator, len) = match (self.peek(0), self.peek(1)) {
            (Some('!'), Some('=')) => ("!=", 2),
            (Some('<'), Some('=')) => ("<=", 2),
            (Some('>'), Some('=')) => (">=", 2),
            (Some('<'), Some('>')) => ("<>", 2),
            (Some('='), Some('=')) => ("==", 2),
            (Some('<'), _) => ("<", 1),
            (Some('>'), _) => (">", 1),
            (Some('='), _) => ("=", 1),
            _ => {
                return Err(format!(
                    "unexpected character '!' at position {}. Did you mean '!='?",
                    self.idx + 1
                ));
            }
        };
        self.idx += len;
        Ok(operator)
    }

    /// Whether a number starts here: a digit, `.5`, or a sign directly followed by either.
    fn at_number(&self) -> bool {
        let is_digit = |ahead: usize| self.peek(ahead).is_some_and(|c| c.is_ascii_digit());
        let digit_or_dot_digit = |ahead: usize| {
            is_digit(ahead) || (self.peek(ahead) == Some('.') && is_digit(ahead + 1))
        };
        match self.peek(0) {
            Some('-' | '+') => digit_or_dot_digit(1),
            _ => digit_or_dot_digit(0),
        }
    }

    /// Reads a numeric literal such as `1`, `-0.5`, `.5`, `1e-3` or `1700000000000`.
    fn number(&mut self) -> std::result::Result<f64, String> {
        let start = self.offset();
        if matches!(self.peek(0), Some('-' | '+')) {
            self.idx += 1;
        }
        while self.peek(0).is_some_and(|c| c.is_ascii_digit() || c == '.') {
            self.idx += 1;
        }
        if matches!(self.peek(0), Some('e' | 'E')) {
            let digits_at = if matches!(self.peek(1), Some('-' | '+')) {
                2
            } else {
                1
            };
            if self.peek(digits_at).is_some_and(|c| c.is_ascii_digit()) {
                self.idx += digits_at;
                while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                    self.idx += 1;
                }
            }
        }
        // A number glued to letters ("1abc", "0.9and") is a typo, not two tokens; swallow the
        // rest so the message shows the whole thing.
        let mut glued = false;
        while self.peek(0).is_some_and(|c| is_word_char(c) || c == '.') {
            glued = true;
            self.idx += 1;
        }
        let text = slice(self.source, start, self.offset());
        match text.parse::<f64>() {
            Ok(number) if !glued && number.is_finite() => Ok(number),
            _ => Err(format!(
                "invalid number '{text}'. Numbers look like 42, -0.5 or 1e-3; quote keys that \
                 start with a digit with backticks"
            )),
        }
    }

    /// Reads a dotted identifier: words and quoted names joined by dots with no spaces, such as
    /// `metrics.acc`, ``tags.`mlflow.runName` `` or `"run name"`.
    fn identifier(&mut self) -> std::result::Result<Vec<Segment>, String> {
        let start = self.offset();
        let mut segments = Vec::new();
        loop {
            match self.peek(0) {
                Some(quote @ ('"' | '`')) => {
                    let text = self.quoted(quote)?;
                    segments.push(Segment {
                        text,
                        quote: Some(quote),
                    });
                }
                Some(c) if is_word_char(c) => {
                    let mut text = String::new();
                    while let Some(c) = self.peek(0).filter(|c| is_word_char(*c)) {
                        text.push(c);
                        self.idx += 1;
                    }
                    segments.push(Segment { text, quote: None });
                }
                _ => {
                    // Only reachable after a dot: the caller starts identifiers on a word
                    // character or a quote.
                    return Err(format!(
                        "invalid identifier '{}': expected a key after the '.'. Quote keys that \
                         contain special characters with backticks, e.g. tags.`my-key`",
                        slice(self.source, start, self.offset())
                    ));
                }
            }
            if self.peek(0) == Some('.') {
                self.idx += 1;
            } else {
                return Ok(segments);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parser.
// ---------------------------------------------------------------------------------------------

/// What the left-hand side of a filter comparison resolved to.
struct FilterTarget {
    entity: Entity,
    /// Canonical for attributes.
    key: String,
    comparators: &'static [Comparator],
    value_kind: ValueKind,
}

impl FilterTarget {
    fn describe(&self) -> String {
        format!("{} '{}'", entity_label(self.entity), self.key)
    }
}

struct Parser<'a> {
    kind: SearchKind,
    source: &'a str,
    tokens: Vec<Token>,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(kind: SearchKind, source: &'a str, tokens: Vec<Token>) -> Self {
        Parser {
            kind,
            source,
            tokens,
            pos: 0,
        }
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn advance(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        if token.is_some() {
            self.pos += 1;
        }
        token
    }

    fn text(&self, token: &Token) -> &'a str {
        slice(self.source, token.start, token.end)
    }

    /// The source from `token` to the end, shortened, for "invalid clause" messages.
    fn rest_from(&self, token: &Token) -> String {
        excerpt(
            self.source
                .get(token.start..)
                .unwrap_or_default()
                .trim_end(),
        )
    }

    /// How to show a token (or its absence) after "found".
    fn found(&self, token: Option<&Token>) -> String {
        match token {
            // A string literal already shows its own quotes.
            Some(token) if matches!(token.kind, TokenKind::String(_)) => excerpt(self.text(token)),
            Some(token) => format!("'{}'", excerpt(self.text(token))),
            None => "the end of the input".to_string(),
        }
    }

    /// Reads the identifier that starts a comparison or an `order_by` clause, or returns `None`
    /// and consumes nothing when the next token cannot be one (a keyword, a literal, a paren).
    fn identifier(&mut self) -> Option<(Vec<Segment>, &'a str)> {
        let token = self.peek()?;
        let TokenKind::Identifier(segments) = &token.kind else {
            return None;
        };
        if token.keyword().is_some_and(is_reserved) {
            return None;
        }
        let identifier = (segments.clone(), self.text(token));
        self.pos += 1;
        Some(identifier)
    }

    /// Parses `identifier comparator value`.
    fn comparison(&mut self) -> Result<Comparison> {
        let Some((segments, identifier)) = self.identifier() else {
            let found = match self.peek() {
                Some(token) => format!("'{}'", self.rest_from(token)),
                None => self.found(None),
            };
            return Err(Error::invalid(format!(
                "Invalid clause(s) in filter string: {found}. Expected a comparison such as \
                 metrics.acc > 0.9 or tags.`mlflow.runName` = 'abc'"
            )));
        };
        let target = filter_target(self.kind, &segments, identifier)?;
        let comparator = self.comparator(identifier)?;
        if !target.comparators.contains(&comparator) {
            return Err(Error::invalid(format!(
                "Invalid comparator '{}' for {}. Valid comparators are: {}",
                comparator_str(comparator),
                target.describe(),
                join_comparators(target.comparators)
            )));
        }
        let value = self.value(comparator, &target)?;
        Ok(Comparison {
            entity: target.entity,
            key: target.key,
            comparator,
            value,
        })
    }

    /// Reads a comparator, including the multi-word `NOT IN`, `IS NULL` and `IS NOT NULL`.
    fn comparator(&mut self, identifier: &str) -> Result<Comparator> {
        let token = self.advance();
        let missing = |found: String| {
            Error::invalid(format!(
                "Invalid comparison clause: expected a comparator after '{identifier}', found \
                 {found}. Valid comparators are: {ALL_COMPARATORS}"
            ))
        };
        let Some(token) = token else {
            return Err(missing(self.found(None)));
        };
        if let TokenKind::Operator(operator) = token.kind {
            return match operator {
                "=" => Ok(C::Eq),
                "!=" => Ok(C::Ne),
                "<" => Ok(C::Lt),
                "<=" => Ok(C::Le),
                ">" => Ok(C::Gt),
                ">=" => Ok(C::Ge),
                "==" => Err(Error::invalid(format!(
                    "Invalid comparator '==' after '{identifier}'. Use '=' to test equality"
                ))),
                "<>" => Err(Error::invalid(format!(
                    "Invalid comparator '<>' after '{identifier}'. Use '!=' to test inequality"
                ))),
                _ => Err(missing(self.found(Some(&token)))),
            };
        }
        let Some(word) = token.keyword() else {
            return Err(missing(self.found(Some(&token))));
        };
        match word.to_ascii_uppercase().as_str() {
            "LIKE" => Ok(C::Like),
            "ILIKE" => Ok(C::ILike),
            "IN" => Ok(C::In),
            "NOT" => match self.advance() {
                Some(next) if next.is_keyword("IN") => Ok(C::NotIn),
                next => Err(Error::invalid(format!(
                    "Invalid comparator after '{identifier}': NOT must be followed by IN, found \
                     {}. Valid comparators are: {ALL_COMPARATORS}",
                    self.found(next.as_ref())
                ))),
            },
            "IS" => {
                let next = self.advance();
                match next {
                    Some(next) if next.is_keyword("NULL") => Ok(C::IsNull),
                    Some(next) if next.is_keyword("NOT") => match self.advance() {
                        Some(null) if null.is_keyword("NULL") => Ok(C::IsNotNull),
                        other => Err(Error::invalid(format!(
                            "Invalid comparator after '{identifier}': expected NULL after IS NOT, \
                             found {}",
                            self.found(other.as_ref())
                        ))),
                    },
                    other => Err(Error::invalid(format!(
                        "Invalid comparator after '{identifier}': expected NULL or NOT NULL after \
                         IS, found {}",
                        self.found(other.as_ref())
                    ))),
                }
            }
            _ => Err(missing(self.found(Some(&token)))),
        }
    }

    /// Reads the right-hand side that `comparator` needs for `target`.
    fn value(&mut self, comparator: Comparator, target: &FilterTarget) -> Result<Value> {
        match comparator {
            C::IsNull | C::IsNotNull => Ok(Value::None),
            C::In | C::NotIn => self.list(comparator, target).map(Value::List),
            _ => self.scalar(comparator, target),
        }
    }

    fn scalar(&mut self, comparator: Comparator, target: &FilterTarget) -> Result<Value> {
        let token = self.advance();
        if let Some(value) = literal(target.value_kind, token.as_ref()) {
            return Ok(value);
        }
        let expected = match target.value_kind {
            ValueKind::Text => "a quoted string value",
            ValueKind::Number | ValueKind::LenientNumber => "a numeric value",
        };
        let example = match target.value_kind {
            ValueKind::Text => "'my-value'",
            ValueKind::Number | ValueKind::LenientNumber => "0.5 or 1e-3",
        };
        Err(Error::invalid(format!(
            "Expected {expected} for {} after '{}' (e.g. {example}). Found {}",
            target.describe(),
            comparator_str(comparator),
            self.found(token.as_ref())
        )))
    }

    /// Reads `( item, item, … )` for IN and NOT IN. Items are quoted strings, or numbers for
    /// numeric keys such as `version_number`; there quoted numbers are accepted too and
    /// normalised, so `('1', 2.0)` gives `["1", "2"]`.
    fn list(&mut self, comparator: Comparator, target: &FilterTarget) -> Result<Vec<String>> {
        let (item_kind, items_label, example) = match target.value_kind {
            ValueKind::Text => (ValueKind::Text, "quoted string values", "('a', 'b')"),
            ValueKind::Number | ValueKind::LenientNumber => {
                (ValueKind::LenientNumber, "numbers", "(1, 2)")
            }
        };
        let open = self.advance();
        if !matches!(open.as_ref().map(|t| &t.kind), Some(TokenKind::OpenParen)) {
            return Err(Error::invalid(format!(
                "Expected a parenthesised list of {items_label} after {} for {}, e.g. {example}. \
                 Found {}",
                comparator_str(comparator),
                target.describe(),
                self.found(open.as_ref())
            )));
        }
        let mut items = Vec::new();
        loop {
            let token = self.advance();
            let item = match literal(item_kind, token.as_ref()) {
                Some(Value::String(text)) => text,
                Some(Value::Number(number)) => number.to_string(),
                _ if items.is_empty()
                    && matches!(token.as_ref().map(|t| &t.kind), Some(TokenKind::CloseParen)) =>
                {
                    return Err(Error::invalid(format!(
                        "While parsing a list in the query, expected a non-empty list of \
                         {items_label} for {}, but got an empty list",
                        target.describe()
                    )));
                }
                _ => {
                    return Err(Error::invalid(format!(
                        "While parsing a list in the query, expected {items_label} for {}, \
                         e.g. {example}, found {}",
                        target.describe(),
                        self.found(token.as_ref())
                    )));
                }
            };
            items.push(item);
            let separator = self.advance();
            match separator.as_ref().map(|token| &token.kind) {
                Some(TokenKind::Comma) => {}
                Some(TokenKind::CloseParen) => return Ok(items),
                _ => {
                    return Err(Error::invalid(format!(
                        "While parsing a list in the query, expected ',' or ')' in the list for \
                         {}, found {}",
                        target.describe(),
                        self.found(separator.as_ref())
                    )));
                }
            }
        }
    }

    /// Parses `identifier [ASC|DESC]`; the caller adds the "Invalid order_by clause" prefix.
    fn order_by(&mut self) -> Result<OrderBy> {
        if self.peek().is_none() {
            return Err(Error::invalid(
                "it is empty. Expected '<key> [ASC|DESC]', e.g. 'metrics.acc DESC'",
            ));
        }
        let Some((segments, identifier)) = self.identifier() else {
            return Err(Error::invalid(format!(
                "expected a key to order by, e.g. 'metrics.acc DESC', found {}",
                self.found(self.peek())
            )));
        };
        let (entity, key, prefixed) =
            split_identifier(self.kind, Context::OrderBy, &segments, identifier)?;
        let key = if entity == Entity::Attribute {
            let keys = order_keys(self.kind);
            let Some(spec) = keys
                .iter()
                .find(|spec| spec.key == key || spec.aliases.contains(&key.as_str()))
            else {
                return Err(unknown_attribute(
                    self.kind,
                    Context::OrderBy,
                    &key,
                    keys.iter().map(|spec| spec.key),
                    prefixed,
                ));
            };
            spec.key.to_string()
        } else {
            key
        };
        let ascending = match self.advance() {
            None => true,
            Some(token) if token.is_keyword("ASC") => true,
            Some(token) if token.is_keyword("DESC") => false,
            Some(token) => {
                return Err(Error::invalid(format!(
                    "invalid ordering key {} after '{identifier}'. Expected ASC or DESC",
                    self.found(Some(&token))
                )));
            }
        };
        if let Some(token) = self.peek() {
            return Err(Error::invalid(format!(
                "unexpected '{}' after the sort direction. Give one '<key> [ASC|DESC]' per \
                 order_by entry",
                self.rest_from(token)
            )));
        }
        Ok(OrderBy {
            entity,
            key,
            ascending,
        })
    }
}

/// The value `token` gives where `value_kind` is expected, or `None` if it is the wrong type.
fn literal(value_kind: ValueKind, token: Option<&Token>) -> Option<Value> {
    match (value_kind, &token?.kind) {
        (ValueKind::Text, TokenKind::String(text)) => Some(Value::String(text.clone())),
        (ValueKind::Text, kind) => double_quoted(kind).map(|text| Value::String(text.to_string())),
        (ValueKind::Number | ValueKind::LenientNumber, TokenKind::Number(number)) => {
            Some(Value::Number(*number))
        }
        (ValueKind::LenientNumber, TokenKind::String(text)) => text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|number| number.is_finite())
            .map(Value::Number),
        (ValueKind::Number | ValueKind::LenientNumber, _) => None,
    }
}

/// The text of a `"double-quoted"` one-segment identifier, which MLflow also accepts as a string
/// value (its `_strip_quotes` takes both quote styles).
fn double_quoted(kind: &TokenKind) -> Option<&str> {
    match kind {
        TokenKind::Identifier(segments) => match segments.as_slice() {
            [
                Segment {
                    text,
                    quote: Some('"'),
                },
            ] => Some(text),
            _ => None,
        },
        _ => None,
    }
}

/// Splits an identifier into its entity and key. Only the first dot separates the prefix, so
/// `tags.a.b.c` has the key `a.b.c`; a single segment, quoted or not, is a bare attribute key.
/// Returns whether a prefix was written, for the "unknown attribute" hint.
fn split_identifier(
    kind: SearchKind,
    context: Context,
    segments: &[Segment],
    identifier: &str,
) -> Result<(Entity, String, bool)> {
    let (entity, key_segments, prefixed) = match segments {
        [] => {
            return Err(Error::invalid(format!(
                "Invalid identifier '{identifier}': it is empty"
            )));
        }
        [only] => (Entity::Attribute, std::slice::from_ref(only), false),
        [prefix, rest @ ..] => {
            let entity = entity_for_prefix(&prefix.text)
                .filter(|entity| entity_allowed(kind, context, *entity));
            let Some(entity) = entity else {
                let purpose = match context {
                    Context::Filter => "filtering",
                    Context::OrderBy => "ordering",
                };
                return Err(Error::invalid(format!(
                    "Invalid entity type '{}' in '{identifier}'. Valid entity types for {purpose} \
                     {} are: {}",
                    prefix.text,
                    kind_label(kind),
                    allowed_prefixes(kind, context)
                )));
            };
            (entity, rest, true)
        }
    };
    let key = key_segments
        .iter()
        .map(|segment| segment.text.as_str())
        .collect::<Vec<_>>()
        .join(".");
    if key.is_empty() {
        return Err(Error::invalid(format!(
            "Invalid identifier '{identifier}': the key is empty"
        )));
    }
    Ok((entity, key, prefixed))
}

/// Resolves the left-hand side of a filter comparison: entity, canonical key, and what it may be
/// compared with.
fn filter_target(kind: SearchKind, segments: &[Segment], identifier: &str) -> Result<FilterTarget> {
    let (entity, key, prefixed) = split_identifier(kind, Context::Filter, segments, identifier)?;
    let target = |key: String, comparators, value_kind| FilterTarget {
        entity,
        key,
        comparators,
        value_kind,
    };
    match entity {
        Entity::Attribute => {
            let specs = filter_attributes(kind);
            let spec = specs
                .iter()
                .find(|spec| spec.key == key || spec.aliases.contains(&key.as_str()));
            match spec {
                Some(spec) => Ok(target(
                    spec.key.to_string(),
                    spec.comparators,
                    spec.value_kind,
                )),
                None => Err(unknown_attribute(
                    kind,
                    Context::Filter,
                    &key,
                    specs.iter().map(|spec| spec.key),
                    prefixed,
                )),
            }
        }
        Entity::Metric => Ok(target(key, NUMERIC, ValueKind::Number)),
        // Only runs/search lets params and tags be tested for absence (IS NULL).
        Entity::Param | Entity::Tag if kind == SearchKind::Runs => {
            Ok(target(key, STRING_OR_NULL, ValueKind::Text))
        }
        Entity::Param | Entity::Tag => Ok(target(key, STRING, ValueKind::Text)),
        Entity::Dataset if DATASET_KEYS.contains(&key.as_str()) => {
            Ok(target(key, STRING_OR_LIST, ValueKind::Text))
        }
        Entity::Dataset => Err(Error::invalid(format!(
            "Invalid dataset key '{key}' specified. Valid keys are: {}",
            DATASET_KEYS.join(", ")
        ))),
    }
}

/// The error for an attribute key the search does not know, listing the keys it does know.
fn unknown_attribute<'k>(
    kind: SearchKind,
    context: Context,
    key: &str,
    valid_keys: impl Iterator<Item = &'k str>,
    prefixed: bool,
) -> Error {
    let valid_keys = valid_keys.collect::<Vec<_>>().join(", ");
    let entity_prefixes = allowed_prefixes(kind, context);
    // A bare `acc > 0.9` most likely meant `metrics.acc`; say how to name other entities.
    let hint = if !prefixed && entity_prefixes != "attributes" {
        format!(
            ". Keys of other entities need a prefix, one of: {entity_prefixes} (e.g. tags.<key>)"
        )
    } else {
        String::new()
    };
    Error::invalid(format!(
        "Invalid attribute key '{key}' specified. Valid keys for {} are: {valid_keys}{hint}",
        kind_label(kind)
    ))
}

#[cfg(test)]
mod tests;
