//! Property tests for MLflow's search grammar (`parse_filter`,
//! `parse_order_by`, page tokens): any text gives a result or an
//! INVALID_PARAMETER_VALUE error, never a panic, and a filter printed from
//! a generated list of comparisons parses back to that list.

use proptest::prelude::*;
use smelt_tracking::ErrorCode;
use smelt_tracking::search::{
    Comparator, Comparison, Entity, SearchKind, Value, decode_offset, encode_offset, parse_filter,
    parse_order_by,
};

const KINDS: [SearchKind; 5] = [
    SearchKind::Runs,
    SearchKind::Experiments,
    SearchKind::RegisteredModels,
    SearchKind::ModelVersions,
    SearchKind::LoggedModels,
];

/// Text made of the grammar's own pieces, so that generated strings reach
/// the parser's deeper paths more often than uniformly random text does.
fn grammar_soup() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("metrics.".to_string()),
        Just("params.".to_string()),
        Just("tags.".to_string()),
        Just("attributes.".to_string()),
        Just("datasets.".to_string()),
        Just(" AND ".to_string()),
        Just(" OR ".to_string()),
        Just(" LIKE ".to_string()),
        Just(" IN ".to_string()),
        Just(" NOT ".to_string()),
        Just(" IS ".to_string()),
        Just(" NULL".to_string()),
        Just(" DESC".to_string()),
        Just("=".to_string()),
        Just("!=".to_string()),
        Just("<=".to_string()),
        Just(">".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just(",".to_string()),
        Just("'".to_string()),
        Just("`".to_string()),
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just("-1e-3".to_string()),
        Just(".5".to_string()),
        "[a-z_]{1,6}",
        "\\PC{1,3}",
    ];
    prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), grammar_soup()]
}

/// A key as a user may spell it: any printable text, always quoted.
fn key() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_ .:/%'`\\\\-]{1,16}"
}

/// A string literal's content, quotes and backslashes included.
fn text_value() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_ %.'\\\\é-]{0,16}"
}

fn comparison() -> impl Strategy<Value = Comparison> {
    let metric = (
        key(),
        prop::sample::select(vec![
            Comparator::Eq,
            Comparator::Ne,
            Comparator::Lt,
            Comparator::Le,
            Comparator::Gt,
            Comparator::Ge,
        ]),
        prop::num::f64::NORMAL | prop::num::f64::ZERO,
    )
        .prop_map(|(key, comparator, number)| Comparison {
            entity: Entity::Metric,
            key,
            comparator,
            value: Value::Number(number),
        });
    let text = (
        prop::sample::select(vec![Entity::Param, Entity::Tag]),
        key(),
        prop::sample::select(vec![
            Comparator::Eq,
            Comparator::Ne,
            Comparator::Like,
            Comparator::ILike,
        ]),
        text_value(),
    )
        .prop_map(|(entity, key, comparator, value)| Comparison {
            entity,
            key,
            comparator,
            value: Value::String(value),
        });
    prop_oneof![metric, text]
}

/// `'…'` or `` `…` `` with the grammar's escapes: a doubled quote and `\\`.
fn quote(text: &str, quote: char) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace(quote, &format!("{quote}{quote}"));
    format!("{quote}{escaped}{quote}")
}

/// Prints a comparison in MLflow's filter syntax.
fn print(comparison: &Comparison) -> String {
    let entity = match comparison.entity {
        Entity::Metric => "metrics",
        Entity::Param => "params",
        Entity::Tag => "tags",
        Entity::Attribute => "attributes",
        Entity::Dataset => "datasets",
    };
    let comparator = match comparison.comparator {
        Comparator::Eq => "=",
        Comparator::Ne => "!=",
        Comparator::Lt => "<",
        Comparator::Le => "<=",
        Comparator::Gt => ">",
        Comparator::Ge => ">=",
        Comparator::Like => "LIKE",
        Comparator::ILike => "ilike",
        Comparator::In => "IN",
        Comparator::NotIn => "NOT IN",
        Comparator::IsNull => "IS NULL",
        Comparator::IsNotNull => "IS NOT NULL",
    };
    let value = match &comparison.value {
        Value::Number(n) => format!("{n:?}"),
        Value::String(s) => quote(s, '\''),
        Value::List(items) => format!(
            "({})",
            items
                .iter()
                .map(|s| quote(s, '\''))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::None => String::new(),
    };
    format!(
        "{entity}.{} {comparator} {value}",
        quote(&comparison.key, '`')
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn filters_never_panic(kind in prop::sample::select(KINDS.to_vec()), text in any_text()) {
        if let Err(error) = parse_filter(kind, &text) {
            prop_assert_eq!(error.code, ErrorCode::InvalidParameterValue);
            prop_assert!(!error.message.is_empty());
        }
    }

    #[test]
    fn order_by_never_panics(kind in prop::sample::select(KINDS.to_vec()), text in any_text()) {
        if let Err(error) = parse_order_by(kind, &text) {
            prop_assert_eq!(error.code, ErrorCode::InvalidParameterValue);
            prop_assert!(error.message.starts_with("Invalid order_by clause"), "{}", error.message);
        }
    }

    #[test]
    fn page_tokens_never_panic(text in any_text()) {
        if let Err(error) = decode_offset(Some(&text)) {
            prop_assert_eq!(error.code, ErrorCode::InvalidParameterValue);
        }
    }

    #[test]
    fn page_tokens_round_trip(offset in any::<u64>()) {
        prop_assert_eq!(decode_offset(Some(&encode_offset(offset))).unwrap(), offset);
    }

    #[test]
    fn printed_filters_parse_back(comparisons in prop::collection::vec(comparison(), 1..5)) {
        let filter = comparisons.iter().map(print).collect::<Vec<_>>().join(" AND ");
        let parsed = parse_filter(SearchKind::Runs, &filter);
        prop_assert!(parsed.is_ok(), "{filter}: {parsed:?}");
        prop_assert_eq!(parsed.unwrap(), comparisons, "{}", filter);
    }

    #[test]
    fn printed_order_by_parses_back(
        entity in prop::sample::select(vec![Entity::Metric, Entity::Param, Entity::Tag]),
        key in key(),
        direction in prop::sample::select(vec!["", " ASC", " desc", " DESC"]),
    ) {
        let prefix = match entity {
            Entity::Metric => "metrics",
            Entity::Param => "params",
            _ => "tags",
        };
        let clause = format!("{prefix}.{}{direction}", quote(&key, '`'));
        let parsed = parse_order_by(SearchKind::Runs, &clause);
        prop_assert!(parsed.is_ok(), "{clause}: {parsed:?}");
        let parsed = parsed.unwrap();
        prop_assert_eq!(parsed.entity, entity);
        prop_assert_eq!(parsed.key, key);
        prop_assert_eq!(parsed.ascending, !direction.to_ascii_uppercase().contains("DESC"));
    }
}
