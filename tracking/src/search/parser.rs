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
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    use SearchKind::{Experiments, LoggedModels, ModelVersions, RegisteredModels, Runs};

    fn cmp(entity: Entity, key: &str, comparator: Comparator, value: Value) -> Comparison {
        Comparison {
            entity,
            key: key.to_string(),
            comparator,
            value,
        }
    }

    fn text(value: &str) -> Value {
        Value::String(value.to_string())
    }

    fn list(values: &[&str]) -> Value {
        Value::List(values.iter().map(ToString::to_string).collect())
    }

    fn filter_error(kind: SearchKind, filter: &str) -> String {
        match parse_filter(kind, filter) {
            Ok(parsed) => panic!("{kind:?} filter {filter:?} should fail, parsed {parsed:?}"),
            Err(error) => {
                assert_eq!(error.code, ErrorCode::InvalidParameterValue, "{filter:?}");
                error.message
            }
        }
    }

    fn order_error(kind: SearchKind, clause: &str) -> String {
        match parse_order_by(kind, clause) {
            Ok(parsed) => panic!("{kind:?} order_by {clause:?} should fail, parsed {parsed:?}"),
            Err(error) => {
                assert_eq!(error.code, ErrorCode::InvalidParameterValue, "{clause:?}");
                assert!(
                    error.message.starts_with("Invalid order_by clause '"),
                    "{clause:?}: {}",
                    error.message
                );
                error.message
            }
        }
    }

    #[test]
    fn empty_filters_match_everything() {
        for kind in [
            Runs,
            Experiments,
            RegisteredModels,
            ModelVersions,
            LoggedModels,
        ] {
            for filter in ["", " ", "\t\n  "] {
                assert_eq!(parse_filter(kind, filter).ok(), Some(vec![]), "{filter:?}");
            }
        }
    }

    #[test]
    fn accepts_run_filters() {
        use Entity::{Attribute, Dataset, Metric, Param, Tag};
        let cases: Vec<(&str, Vec<Comparison>)> = vec![
            // The verified parses from the wire reference.
            (
                "metrics.acc > 0.9 and params.lr = '0.01'",
                vec![
                    cmp(Metric, "acc", C::Gt, Value::Number(0.9)),
                    cmp(Param, "lr", C::Eq, text("0.01")),
                ],
            ),
            (
                "tags.`mlflow.runName` LIKE 'abc%' AND attributes.status = 'FINISHED'",
                vec![
                    cmp(Tag, "mlflow.runName", C::Like, text("abc%")),
                    cmp(Attribute, "status", C::Eq, text("FINISHED")),
                ],
            ),
            (
                "attributes.run_id IN ('a','b')",
                vec![cmp(Attribute, "run_id", C::In, list(&["a", "b"]))],
            ),
            (
                "params.x IS NULL",
                vec![cmp(Param, "x", C::IsNull, Value::None)],
            ),
            (
                "datasets.name = 'train'",
                vec![cmp(Dataset, "name", C::Eq, text("train"))],
            ),
            (
                "created > 1700000000000",
                vec![cmp(
                    Attribute,
                    "start_time",
                    C::Gt,
                    Value::Number(1_700_000_000_000.0),
                )],
            ),
            // Every metric comparator, and number spellings.
            (
                "metrics.a = 1 AND metrics.b != -0.5 AND metrics.c < 1e-3 AND metrics.d <= .5 \
                 AND metrics.e > +2 AND metrics.f >= 1E+3",
                vec![
                    cmp(Metric, "a", C::Eq, Value::Number(1.0)),
                    cmp(Metric, "b", C::Ne, Value::Number(-0.5)),
                    cmp(Metric, "c", C::Lt, Value::Number(1e-3)),
                    cmp(Metric, "d", C::Le, Value::Number(0.5)),
                    cmp(Metric, "e", C::Gt, Value::Number(2.0)),
                    cmp(Metric, "f", C::Ge, Value::Number(1000.0)),
                ],
            ),
            // No spaces around operators, including a negative number after one.
            (
                "metrics.loss<=-1.5 AND metric.acc>=0",
                vec![
                    cmp(Metric, "loss", C::Le, Value::Number(-1.5)),
                    cmp(Metric, "acc", C::Ge, Value::Number(0.0)),
                ],
            ),
            // Quoted keys with spaces, dots and quotes inside.
            (
                "metrics.\"my metric\" < 3 AND metrics.`val loss` > 0",
                vec![
                    cmp(Metric, "my metric", C::Lt, Value::Number(3.0)),
                    cmp(Metric, "val loss", C::Gt, Value::Number(0.0)),
                ],
            ),
            (
                "tags.`a``b` = 'x' AND tags.\"c\"\"d\" = 'y'",
                vec![
                    cmp(Tag, "a`b", C::Eq, text("x")),
                    cmp(Tag, "c\"d", C::Eq, text("y")),
                ],
            ),
            // Only the first dot separates the prefix.
            (
                "tags.a.b.c = 'v' AND tags.mlflow.runName = 'r'",
                vec![
                    cmp(Tag, "a.b.c", C::Eq, text("v")),
                    cmp(Tag, "mlflow.runName", C::Eq, text("r")),
                ],
            ),
            // Every prefix spelling, prefixes case-insensitively.
            (
                "metric.a = 1 AND METRICS.b = 2 AND param.c = 'x' AND params.d = 'x' AND \
                 parameter.e = 'x' AND parameters.f = 'x' AND tag.g = 'x' AND Tags.h = 'x' AND \
                 attribute.status = 'x' AND attributes.status = 'x' AND attr.status = 'x' AND \
                 run.status = 'x' AND dataset.digest = 'x' AND datasets.context = 'x'",
                vec![
                    cmp(Metric, "a", C::Eq, Value::Number(1.0)),
                    cmp(Metric, "b", C::Eq, Value::Number(2.0)),
                    cmp(Param, "c", C::Eq, text("x")),
                    cmp(Param, "d", C::Eq, text("x")),
                    cmp(Param, "e", C::Eq, text("x")),
                    cmp(Param, "f", C::Eq, text("x")),
                    cmp(Tag, "g", C::Eq, text("x")),
                    cmp(Tag, "h", C::Eq, text("x")),
                    cmp(Attribute, "status", C::Eq, text("x")),
                    cmp(Attribute, "status", C::Eq, text("x")),
                    cmp(Attribute, "status", C::Eq, text("x")),
                    cmp(Attribute, "status", C::Eq, text("x")),
                    cmp(Dataset, "digest", C::Eq, text("x")),
                    cmp(Dataset, "context", C::Eq, text("x")),
                ],
            ),
            // A backtick-quoted prefix is accepted, as MLflow trims backticks from it.
            ("`tags`.x = 'y'", vec![cmp(Tag, "x", C::Eq, text("y"))]),
            // Keywords are case-insensitive.
            (
                "params.a like 'x%' AnD params.b iLiKe '%Y' and tags.c is not null and \
                 tags.d Is Null and run_id not in ('r1') and run_id In ('r2')",
                vec![
                    cmp(Param, "a", C::Like, text("x%")),
                    cmp(Param, "b", C::ILike, text("%Y")),
                    cmp(Tag, "c", C::IsNotNull, Value::None),
                    cmp(Tag, "d", C::IsNull, Value::None),
                    cmp(Attribute, "run_id", C::NotIn, list(&["r1"])),
                    cmp(Attribute, "run_id", C::In, list(&["r2"])),
                ],
            ),
            // String escapes: doubled quotes, backslash quotes, double-quoted values.
            (
                "params.a = 'it''s' AND params.b = 'it\\'s' AND params.c = \"dq\" AND \
                 params.d = 'back\\\\slash' AND params.e LIKE 'a\\_b' AND params.f = ''",
                vec![
                    cmp(Param, "a", C::Eq, text("it's")),
                    cmp(Param, "b", C::Eq, text("it's")),
                    cmp(Param, "c", C::Eq, text("dq")),
                    cmp(Param, "d", C::Eq, text("back\\slash")),
                    cmp(Param, "e", C::Like, text("a\\_b")),
                    cmp(Param, "f", C::Eq, text("")),
                ],
            ),
            // Values that look like keywords or contain OR stay values.
            (
                "tags.note = 'this OR that' AND params.or = 'AND'",
                vec![
                    cmp(Tag, "note", C::Eq, text("this OR that")),
                    cmp(Param, "or", C::Eq, text("AND")),
                ],
            ),
            // Attribute aliases become canonical keys.
            (
                "\"run name\" = 'a' AND `Run name` = 'b' AND run_name = 'c' AND Created >= 5 AND \
                 \"Run ID\" = 'd' AND Status = 'e' AND attributes.`created` < 9",
                vec![
                    cmp(Attribute, "run_name", C::Eq, text("a")),
                    cmp(Attribute, "run_name", C::Eq, text("b")),
                    cmp(Attribute, "run_name", C::Eq, text("c")),
                    cmp(Attribute, "start_time", C::Ge, Value::Number(5.0)),
                    cmp(Attribute, "run_id", C::Eq, text("d")),
                    cmp(Attribute, "status", C::Eq, text("e")),
                    cmp(Attribute, "start_time", C::Lt, Value::Number(9.0)),
                ],
            ),
            // The remaining string and numeric attributes.
            (
                "user_id = 'u' AND artifact_uri LIKE 's3://%' AND lifecycle_stage != 'deleted' \
                 AND end_time <= 10 AND start_time != 0",
                vec![
                    cmp(Attribute, "user_id", C::Eq, text("u")),
                    cmp(Attribute, "artifact_uri", C::Like, text("s3://%")),
                    cmp(Attribute, "lifecycle_stage", C::Ne, text("deleted")),
                    cmp(Attribute, "end_time", C::Le, Value::Number(10.0)),
                    cmp(Attribute, "start_time", C::Ne, Value::Number(0.0)),
                ],
            ),
            // Datasets take lists.
            (
                "datasets.digest IN ('d1', \"d2\") AND datasets.context NOT IN ('eval') AND \
                 datasets.name ILIKE 'TR%'",
                vec![
                    cmp(Dataset, "digest", C::In, list(&["d1", "d2"])),
                    cmp(Dataset, "context", C::NotIn, list(&["eval"])),
                    cmp(Dataset, "name", C::ILike, text("TR%")),
                ],
            ),
            // Non-ASCII keys and values, and whitespace of every kind.
            (
                "\n\tparams.température = 'élevée'\r\n AND tags.`ключ` = '値'  ",
                vec![
                    cmp(Param, "température", C::Eq, text("élevée")),
                    cmp(Tag, "ключ", C::Eq, text("値")),
                ],
            ),
        ];
        for (filter, expected) in cases {
            assert_eq!(
                parse_filter(Runs, filter).unwrap_or_else(|e| panic!("{filter:?}: {e}")),
                expected,
                "{filter:?}"
            );
        }
    }

    #[test]
    fn accepts_filters_of_other_searches() {
        use Entity::{Attribute, Metric, Param, Tag};
        let cases: Vec<(SearchKind, &str, Vec<Comparison>)> = vec![
            (
                Experiments,
                "name LIKE 'exp%' AND tags.team = 'ml' AND creation_time > 100 AND \
                 attributes.last_update_time <= 200",
                vec![
                    cmp(Attribute, "name", C::Like, text("exp%")),
                    cmp(Tag, "team", C::Eq, text("ml")),
                    cmp(Attribute, "creation_time", C::Gt, Value::Number(100.0)),
                    cmp(Attribute, "last_update_time", C::Le, Value::Number(200.0)),
                ],
            ),
            (
                Experiments,
                "experiment_id IN ('1', '2') AND experiment_id != '3' AND name ILIKE '%X'",
                vec![
                    cmp(Attribute, "experiment_id", C::In, list(&["1", "2"])),
                    cmp(Attribute, "experiment_id", C::Ne, text("3")),
                    cmp(Attribute, "name", C::ILike, text("%X")),
                ],
            ),
            // The filter the MLflow 3 client adds to every search_registered_models() call.
            (
                RegisteredModels,
                "tag.`mlflow.prompt.is_prompt` != 'true'",
                vec![cmp(Tag, "mlflow.prompt.is_prompt", C::Ne, text("true"))],
            ),
            (
                RegisteredModels,
                "name LIKE '%reg%' AND tag.`mlflow.prompt.is_prompt` != 'true'",
                vec![
                    cmp(Attribute, "name", C::Like, text("%reg%")),
                    cmp(Tag, "mlflow.prompt.is_prompt", C::Ne, text("true")),
                ],
            ),
            (
                RegisteredModels,
                "name IN ('a', 'b') AND tags.stage ILIKE 'prod'",
                vec![
                    cmp(Attribute, "name", C::In, list(&["a", "b"])),
                    cmp(Tag, "stage", C::ILike, text("prod")),
                ],
            ),
            // What the client sent for search_model_versions.
            (
                ModelVersions,
                "name='regB-b1'",
                vec![cmp(Attribute, "name", C::Eq, text("regB-b1"))],
            ),
            (
                ModelVersions,
                "version >= 2 AND version_number = '3' AND version_number IN (1, '3', 4.0) AND \
                 run_id IN ('r') AND source_path LIKE 'runs:/%' AND tags.k = 'v'",
                vec![
                    cmp(Attribute, "version_number", C::Ge, Value::Number(2.0)),
                    // MLflow compares version_number with int(value), so quoted numbers work.
                    cmp(Attribute, "version_number", C::Eq, Value::Number(3.0)),
                    cmp(Attribute, "version_number", C::In, list(&["1", "3", "4"])),
                    cmp(Attribute, "run_id", C::In, list(&["r"])),
                    cmp(Attribute, "source_path", C::Like, text("runs:/%")),
                    cmp(Tag, "k", C::Eq, text("v")),
                ],
            ),
            (
                LoggedModels,
                "name = 'm' AND model_id IN ('m-1') AND status != 'FAILED' AND \
                 source_run_id = 'r' AND model_type LIKE 'sk%' AND creation_time > 1 AND \
                 creation_timestamp < 2 AND last_updated_timestamp >= 3 AND metrics.acc > 0.5 \
                 AND params.depth = '3' AND tags.t ILIKE 'x'",
                vec![
                    cmp(Attribute, "name", C::Eq, text("m")),
                    cmp(Attribute, "model_id", C::In, list(&["m-1"])),
                    cmp(Attribute, "status", C::Ne, text("FAILED")),
                    cmp(Attribute, "source_run_id", C::Eq, text("r")),
                    cmp(Attribute, "model_type", C::Like, text("sk%")),
                    cmp(Attribute, "creation_timestamp", C::Gt, Value::Number(1.0)),
                    cmp(Attribute, "creation_timestamp", C::Lt, Value::Number(2.0)),
                    cmp(
                        Attribute,
                        "last_updated_timestamp",
                        C::Ge,
                        Value::Number(3.0),
                    ),
                    cmp(Metric, "acc", C::Gt, Value::Number(0.5)),
                    cmp(Param, "depth", C::Eq, text("3")),
                    cmp(Tag, "t", C::ILike, text("x")),
                ],
            ),
        ];
        for (kind, filter, expected) in cases {
            assert_eq!(
                parse_filter(kind, filter).unwrap_or_else(|e| panic!("{kind:?} {filter:?}: {e}")),
                expected,
                "{kind:?} {filter:?}"
            );
        }
    }

    #[test]
    fn rejects_bad_filters_with_helpful_messages() {
        // (kind, filter, fragments the message must contain)
        let cases: &[(SearchKind, &str, &[&str])] = &[
            // OR, anywhere and in any case.
            (
                Runs,
                "metrics.a > 1 OR metrics.b > 2",
                &[
                    "Invalid clause(s) in filter string: 'OR'",
                    "only support AND",
                ],
            ),
            (Runs, "params.a = 'x' or params.b = 'y'", &["'or'"]),
            (Runs, "OR", &["Invalid clause(s) in filter string"]),
            (RegisteredModels, "name = 'a' Or name = 'b'", &["'Or'"]),
            // Trailing garbage and missing AND.
            (
                Runs,
                "metrics.a > 1 metrics.b > 2",
                &["Invalid clause(s) in filter string: 'metrics.b > 2'", "AND"],
            ),
            (
                Runs,
                "params.a = 'x' garbage",
                &["Invalid clause(s) in filter string: 'garbage'"],
            ),
            (Runs, "params.a = 'x' AND", &["ends with AND"]),
            (
                Runs,
                "AND params.a = 'x'",
                &["'AND params.a = 'x''", "Expected a comparison"],
            ),
            (
                Runs,
                "params.a = 'x' AND AND params.b = 'y'",
                &["'AND params.b"],
            ),
            (
                Runs,
                "(params.a = 'x')",
                &["Invalid clause(s)", "'(params.a = 'x')'"],
            ),
            (Runs, "params.a = 'x';", &["unexpected character ';'"]),
            (Runs, "'x' = params.a", &["Expected a comparison"]),
            // Unterminated quotes.
            (
                Runs,
                "params.a = 'abc",
                &["unterminated string literal", "position 12"],
            ),
            (Runs, "params.a = 'it\\'", &["unterminated string literal"]),
            (Runs, "tags.`abc = 'x'", &["unterminated quoted name"]),
            (Runs, "metrics.\"abc > 1", &["unterminated quoted name"]),
            // Bad characters, identifiers and numbers.
            (
                Runs,
                "tags.my-key = 'x'",
                &["unexpected character '-'", "tags.`my-key`"],
            ),
            (Runs, "metrics. acc > 1", &["expected a key after the '.'"]),
            (
                Runs,
                "metrics.acc. > 1",
                &["invalid identifier 'metrics.acc.'"],
            ),
            (Runs, "tags.`` = 'x'", &["the key is empty"]),
            (
                Runs,
                "metrics.acc > 0.9and params.a = 'x'",
                &["invalid number '0.9and'"],
            ),
            (Runs, "metrics.acc > 1.2.3", &["invalid number '1.2.3'"]),
            (Runs, "metrics.acc > 1e999", &["invalid number '1e999'"]),
            (Runs, "metrics.acc ! 1", &["Did you mean '!='"]),
            // Comparators.
            (
                Runs,
                "metrics.acc",
                &["expected a comparator after 'metrics.acc'", "the end"],
            ),
            (
                Runs,
                "metrics.acc 0.9",
                &["expected a comparator", "found '0.9'"],
            ),
            (Runs, "metrics.acc == 0.9", &["'=='", "Use '='"]),
            (Runs, "params.a <> 'x'", &["'<>'", "Use '!='"]),
            (
                Runs,
                "params.a NOT LIKE 'x'",
                &["NOT must be followed by IN"],
            ),
            (
                Runs,
                "params.a IS 'x'",
                &["expected NULL or NOT NULL after IS"],
            ),
            (Runs, "params.a IS NOT 'x'", &["expected NULL after IS NOT"]),
            (
                Runs,
                "metrics.acc LIKE '0.9'",
                &[
                    "Invalid comparator 'LIKE' for metric 'acc'",
                    "=, !=, <, <=, >, >=",
                ],
            ),
            (
                Runs,
                "metrics.acc IS NULL",
                &["Invalid comparator 'IS NULL' for metric 'acc'"],
            ),
            (
                Runs,
                "params.lr > '0.1'",
                &["Invalid comparator '>' for param 'lr'", "LIKE"],
            ),
            (
                Runs,
                "tags.t IN ('a')",
                &["Invalid comparator 'IN' for tag 't'"],
            ),
            (
                Runs,
                "attributes.status IN ('FINISHED')",
                &["Invalid comparator 'IN' for attribute 'status'"],
            ),
            (
                Runs,
                "start_time LIKE '1%'",
                &["Invalid comparator 'LIKE' for attribute 'start_time'"],
            ),
            (
                Runs,
                "datasets.name > 'a'",
                &["Invalid comparator '>' for dataset key 'name'"],
            ),
            (
                RegisteredModels,
                "tags.k IS NULL",
                &["Invalid comparator 'IS NULL' for tag 'k'"],
            ),
            (
                Experiments,
                "experiment_id LIKE '1%'",
                &["'LIKE' for attribute 'experiment_id'"],
            ),
            (
                ModelVersions,
                "run_id LIKE 'r%'",
                &["'LIKE' for attribute 'run_id'"],
            ),
            (
                ModelVersions,
                "source_path IN ('a')",
                &["'IN' for attribute 'source_path'"],
            ),
            (
                RegisteredModels,
                "name NOT IN ('a')",
                &["'NOT IN' for attribute 'name'"],
            ),
            // Value types.
            (
                Runs,
                "metrics.acc > 'x'",
                &["Expected a numeric value for metric 'acc'", "'x'"],
            ),
            (Runs, "metrics.acc > \"1\"", &["Expected a numeric value"]),
            (
                Runs,
                "created > '2024-01-01'",
                &["numeric value for attribute 'start_time'"],
            ),
            (
                Runs,
                "params.lr = 0.01",
                &["Expected a quoted string value for param 'lr'", "'0.01'"],
            ),
            (
                Runs,
                "params.lr = abc",
                &["Expected a quoted string value", "'abc'"],
            ),
            (
                Runs,
                "params.lr = `abc`",
                &["Expected a quoted string value"],
            ),
            (
                Runs,
                "params.lr = NULL",
                &["Expected a quoted string value"],
            ),
            (
                Runs,
                "params.lr =",
                &["Expected a quoted string value", "the end of the input"],
            ),
            (
                Runs,
                "metrics.acc >",
                &["Expected a numeric value", "the end of the input"],
            ),
            (
                ModelVersions,
                "version_number = 'one'",
                &[
                    "numeric value for attribute 'version_number'",
                    "Found 'one'",
                ],
            ),
            // Lists.
            (
                Runs,
                "run_id IN 'a'",
                &["Expected a parenthesised list", "('a', 'b')"],
            ),
            (Runs, "run_id IN ()", &["non-empty list"]),
            (
                Runs,
                "run_id IN ('a',)",
                &["expected quoted string values", "found ')'"],
            ),
            (
                Runs,
                "run_id IN ('a' 'b')",
                &["expected ',' or ')'", "found 'b'"],
            ),
            (
                Runs,
                "run_id IN ('a', 1)",
                &["expected quoted string values", "found '1'"],
            ),
            (
                Runs,
                "run_id IN ('a'",
                &["expected ',' or ')'", "the end of the input"],
            ),
            (
                ModelVersions,
                "version_number IN ('x')",
                &["expected numbers", "'x'"],
            ),
            (
                ModelVersions,
                "version_number IN (abc)",
                &["expected numbers", "(1, 2)"],
            ),
            // Unknown attributes and entities.
            (
                Runs,
                "acc > 0.9",
                &[
                    "Invalid attribute key 'acc' specified",
                    "run_id, run_name, status, user_id, artifact_uri, lifecycle_stage, start_time, end_time",
                    "need a prefix",
                ],
            ),
            (
                Runs,
                "attributes.foo = 'x'",
                &["Invalid attribute key 'foo'"],
            ),
            (
                Runs,
                "`attributes.run_id` = 'x'",
                &["Invalid attribute key 'attributes.run_id'"],
            ),
            (
                Runs,
                "datasets.size = 'x'",
                &["Invalid dataset key 'size'", "name, digest, context"],
            ),
            (
                Runs,
                "foo.bar = 'x'",
                &[
                    "Invalid entity type 'foo'",
                    "metrics, params, tags, attributes, datasets",
                ],
            ),
            (
                Experiments,
                "metrics.acc > 1",
                &[
                    "Invalid entity type 'metrics'",
                    "filtering experiments",
                    "tags, attributes",
                ],
            ),
            (
                Experiments,
                "params.a = 'x'",
                &["Invalid entity type 'params'"],
            ),
            (
                Experiments,
                "datasets.name = 'x'",
                &["Invalid entity type 'datasets'"],
            ),
            (
                Experiments,
                "status = 'x'",
                &["Invalid attribute key 'status'", "name, experiment_id"],
            ),
            (
                RegisteredModels,
                "metrics.acc > 1",
                &["Invalid entity type 'metrics'"],
            ),
            (
                RegisteredModels,
                "run_id = 'x'",
                &["Invalid attribute key 'run_id'", ": name"],
            ),
            (
                ModelVersions,
                "params.a = 'x'",
                &["Invalid entity type 'params'"],
            ),
            (
                ModelVersions,
                "status = 'x'",
                &["Invalid attribute key 'status'"],
            ),
            (
                LoggedModels,
                "datasets.name = 'x'",
                &["Invalid entity type 'datasets'"],
            ),
            (
                LoggedModels,
                "run_id = 'x'",
                &["Invalid attribute key 'run_id'", "source_run_id"],
            ),
        ];
        for (kind, filter, fragments) in cases {
            let message = filter_error(*kind, filter);
            for fragment in *fragments {
                assert!(
                    message.contains(fragment),
                    "{kind:?} {filter:?}: message {message:?} lacks {fragment:?}"
                );
            }
        }
    }

    #[test]
    fn accepts_order_by_clauses() {
        use Entity::{Attribute, Metric, Param, Tag};
        let order = |entity, key: &str, ascending| OrderBy {
            entity,
            key: key.to_string(),
            ascending,
        };
        let cases: Vec<(SearchKind, &str, OrderBy)> = vec![
            (Runs, "metrics.acc DESC", order(Metric, "acc", false)),
            (
                Runs,
                "attributes.start_time",
                order(Attribute, "start_time", true),
            ),
            (
                Runs,
                "metrics.`val loss` DESC",
                order(Metric, "val loss", false),
            ),
            (
                Runs,
                "metrics.\"my metric\" asc",
                order(Metric, "my metric", true),
            ),
            (Runs, "  params.lr   desc  ", order(Param, "lr", false)),
            (
                Runs,
                "tags.`mlflow.runName` Asc",
                order(Tag, "mlflow.runName", true),
            ),
            (
                Runs,
                "tags.mlflow.runName",
                order(Tag, "mlflow.runName", true),
            ),
            (Runs, "created DESC", order(Attribute, "start_time", false)),
            (Runs, "`Run name`", order(Attribute, "run_name", true)),
            (
                Runs,
                "\"run name\" DESC",
                order(Attribute, "run_name", false),
            ),
            (Runs, "end_time", order(Attribute, "end_time", true)),
            (Runs, "status", order(Attribute, "status", true)),
            (Runs, "run_id ASC", order(Attribute, "run_id", true)),
            (Runs, "attr.user_id", order(Attribute, "user_id", true)),
            (
                Runs,
                "attribute.artifact_uri",
                order(Attribute, "artifact_uri", true),
            ),
            (Experiments, "name", order(Attribute, "name", true)),
            (
                Experiments,
                "experiment_id DESC",
                order(Attribute, "experiment_id", false),
            ),
            (
                Experiments,
                "creation_time desc",
                order(Attribute, "creation_time", false),
            ),
            (
                Experiments,
                "attributes.last_update_time",
                order(Attribute, "last_update_time", true),
            ),
            (RegisteredModels, "name ASC", order(Attribute, "name", true)),
            (
                RegisteredModels,
                "timestamp DESC",
                order(Attribute, "creation_timestamp", false),
            ),
            (
                RegisteredModels,
                "creation_timestamp",
                order(Attribute, "creation_timestamp", true),
            ),
            (
                RegisteredModels,
                "last_updated_timestamp DESC",
                order(Attribute, "last_updated_timestamp", false),
            ),
            (
                ModelVersions,
                "version_number DESC",
                order(Attribute, "version_number", false),
            ),
            (
                ModelVersions,
                "version",
                order(Attribute, "version_number", true),
            ),
            (ModelVersions, "name", order(Attribute, "name", true)),
            (
                ModelVersions,
                "creation_timestamp",
                order(Attribute, "creation_timestamp", true),
            ),
            (
                ModelVersions,
                "last_updated_timestamp",
                order(Attribute, "last_updated_timestamp", true),
            ),
            (
                LoggedModels,
                "creation_timestamp DESC",
                order(Attribute, "creation_timestamp", false),
            ),
            (
                LoggedModels,
                "creation_time",
                order(Attribute, "creation_timestamp", true),
            ),
            (
                LoggedModels,
                "last_updated_timestamp",
                order(Attribute, "last_updated_timestamp", true),
            ),
            (LoggedModels, "model_id", order(Attribute, "model_id", true)),
            (LoggedModels, "name DESC", order(Attribute, "name", false)),
            (
                LoggedModels,
                "last_updated_time DESC",
                order(Attribute, "last_updated_timestamp", false),
            ),
            (LoggedModels, "status", order(Attribute, "status", true)),
            (
                LoggedModels,
                "source_run_id",
                order(Attribute, "source_run_id", true),
            ),
            (
                LoggedModels,
                "model_type",
                order(Attribute, "model_type", true),
            ),
            (
                LoggedModels,
                "metrics.acc DESC",
                order(Metric, "acc", false),
            ),
        ];
        for (kind, clause, expected) in cases {
            assert_eq!(
                parse_order_by(kind, clause).unwrap_or_else(|e| panic!("{kind:?} {clause:?}: {e}")),
                expected,
                "{kind:?} {clause:?}"
            );
        }
    }

    #[test]
    fn rejects_bad_order_by_clauses() {
        let cases: &[(SearchKind, &str, &[&str])] = &[
            (Runs, "", &["it is empty"]),
            (Runs, "   ", &["it is empty"]),
            (Runs, "DESC", &["expected a key to order by", "'DESC'"]),
            (Runs, "'metrics.acc'", &["expected a key to order by"]),
            (
                Runs,
                "metrics.acc DOWN",
                &["invalid ordering key 'DOWN'", "ASC or DESC"],
            ),
            (Runs, "metrics.acc DESC extra", &["unexpected 'extra'"]),
            (
                Runs,
                "metrics.acc DESC, params.lr",
                &["unexpected ', params.lr'"],
            ),
            (Runs, "metrics.acc > 1", &["invalid ordering key '>'"]),
            (Runs, "metrics.`acc DESC", &["unterminated quoted name"]),
            (Runs, "metrics. DESC", &["expected a key after the '.'"]),
            (
                Runs,
                "foo",
                &["invalid attribute key 'foo'", "start_time, end_time"],
            ),
            (
                Runs,
                "lifecycle_stage",
                &["invalid attribute key 'lifecycle_stage'"],
            ),
            (
                Runs,
                "datasets.name",
                &["invalid entity type 'datasets'", "ordering runs"],
            ),
            (
                Runs,
                "bogus.key",
                &[
                    "invalid entity type 'bogus'",
                    "metrics, params, tags, attributes",
                ],
            ),
            (
                Experiments,
                "tags.x",
                &["invalid entity type 'tags'", "attributes"],
            ),
            (
                Experiments,
                "metrics.acc",
                &["invalid entity type 'metrics'"],
            ),
            (
                Experiments,
                "last_updated_timestamp",
                &["invalid attribute key"],
            ),
            (
                RegisteredModels,
                "version_number",
                &["invalid attribute key 'version_number'"],
            ),
            (
                RegisteredModels,
                "tags.x DESC",
                &["invalid entity type 'tags'"],
            ),
            (
                ModelVersions,
                "timestamp",
                &["invalid attribute key 'timestamp'"],
            ),
            (
                ModelVersions,
                "metrics.acc",
                &["invalid entity type 'metrics'"],
            ),
            (
                LoggedModels,
                "params.depth",
                &["invalid entity type 'params'", "metrics, attributes"],
            ),
            (
                LoggedModels,
                "run_id",
                &["invalid attribute key 'run_id'", "source_run_id"],
            ),
        ];
        for (kind, clause, fragments) in cases {
            let message = order_error(*kind, clause);
            for fragment in *fragments {
                assert!(
                    message.contains(fragment),
                    "{kind:?} {clause:?}: message {message:?} lacks {fragment:?}"
                );
            }
        }
    }

    #[test]
    fn every_listed_prefix_and_key_is_accepted() {
        // The lists in error messages must never name something the parser then rejects.
        for kind in [
            Runs,
            Experiments,
            RegisteredModels,
            ModelVersions,
            LoggedModels,
        ] {
            for prefix in allowed_prefixes(kind, Context::Filter).split(", ") {
                let (key, value) = match prefix {
                    "attributes" => (filter_attributes(kind)[0].key, "'x'"),
                    "datasets" => ("name", "'x'"),
                    "metrics" => ("m", "1"),
                    _ => ("k", "'x'"),
                };
                let value = match (prefix, filter_attributes(kind)[0].value_kind) {
                    ("attributes", ValueKind::Number | ValueKind::LenientNumber) => "1",
                    _ => value,
                };
                let filter = format!("{prefix}.{key} = {value}");
                assert!(parse_filter(kind, &filter).is_ok(), "{kind:?} {filter:?}");
            }
            for spec in filter_attributes(kind) {
                for name in std::iter::once(spec.key).chain(spec.aliases.iter().copied()) {
                    for comparator in spec.comparators {
                        let value = match (comparator, spec.value_kind) {
                            (C::In | C::NotIn, ValueKind::Text) => "('a')",
                            (C::In | C::NotIn, ValueKind::Number | ValueKind::LenientNumber) => {
                                "(1)"
                            }
                            (C::IsNull | C::IsNotNull, _) => "",
                            (_, ValueKind::Text) => "'a'",
                            (_, ValueKind::Number | ValueKind::LenientNumber) => "1",
                        };
                        let filter = format!("`{name}` {} {value}", comparator_str(*comparator));
                        let parsed = parse_filter(kind, &filter)
                            .unwrap_or_else(|e| panic!("{kind:?} {filter:?}: {e}"));
                        assert_eq!(parsed[0].key, spec.key, "{kind:?} {filter:?}");
                    }
                }
            }
            for prefix in allowed_prefixes(kind, Context::OrderBy).split(", ") {
                let key = match prefix {
                    "attributes" => order_keys(kind)[0].key,
                    _ => "k",
                };
                let clause = format!("{prefix}.{key} DESC");
                assert!(parse_order_by(kind, &clause).is_ok(), "{kind:?} {clause:?}");
            }
            for spec in order_keys(kind) {
                for name in std::iter::once(spec.key).chain(spec.aliases.iter().copied()) {
                    let parsed = parse_order_by(kind, &format!("\"{name}\" DESC"))
                        .unwrap_or_else(|e| panic!("{kind:?} {name:?}: {e}"));
                    assert_eq!(parsed.key, spec.key);
                }
            }
        }
    }

    #[test]
    fn long_inputs_are_shortened_in_messages() {
        let filter = format!("params.a = 'x' {}", "é".repeat(10_000));
        let message = filter_error(Runs, &filter);
        assert!(message.len() < 1_000, "{}", message.len());
        assert!(message.contains("..."));
    }

    #[test]
    fn never_panics_on_odd_input() {
        // Every string of up to three characters from an alphabet of the tokenizer's special
        // characters, plus multi-byte ones, must give Ok or Err, never a panic.
        let alphabet = [
            'a', '.', '\'', '"', '`', '\\', '(', ')', ',', '=', '!', '<', '>', '-', '+', '1', 'e',
            ' ', 'é', '値', 'O', 'R', '\u{0}', ';',
        ];
        let kinds = [
            Runs,
            Experiments,
            RegisteredModels,
            ModelVersions,
            LoggedModels,
        ];
        let mut inputs = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = inputs
                .iter()
                .flat_map(|prefix| alphabet.iter().map(move |c| format!("{prefix}{c}")))
                .collect();
            inputs.extend(longer);
        }
        inputs.sort();
        inputs.dedup();
        for input in &inputs {
            for kind in kinds {
                let _ = parse_filter(kind, input);
                let _ = parse_order_by(kind, input);
                // The same fragment after a valid clause reaches the later parser states.
                let _ = parse_filter(kind, &format!("tags.k = 'v' AND {input}"));
                let _ = parse_filter(kind, &format!("run_id IN ({input}"));
                let _ = parse_filter(kind, &format!("metrics.m {input}"));
            }
        }

        // Longer pseudo-random token soup, from a fixed seed so failures reproduce.
        let pieces = [
            "metrics.",
            "tags.`",
            "params.\"",
            "'",
            "''",
            "\\'",
            "(",
            ")",
            ",",
            " AND ",
            " OR ",
            " IN ",
            " NOT ",
            " IS ",
            " NULL",
            "=",
            "!=",
            "<=",
            "1e-3",
            "-.5",
            "acc",
            "é",
            " ",
            "run_id",
            "created",
            ".",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            let mut input = String::new();
            for _ in 0..8 {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let index = usize::try_from(state >> 33).unwrap_or(0) % pieces.len();
                input.push_str(pieces[index]);
            }
            for kind in kinds {
                let _ = parse_filter(kind, &input);
                let _ = parse_order_by(kind, &input);
            }
        }
    }
}
