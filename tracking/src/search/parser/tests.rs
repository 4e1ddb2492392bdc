//! Tests of the parent module, kept beside it so the module stays readable.
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
                        (C::In | C::NotIn, ValueKind::Number | ValueKind::LenientNumber) => "(1)",
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
        'a', '.', '\'', '"', '`', '\\', '(', ')', ',', '=', '!', '<', '>', '-', '+', '1', 'e', ' ',
        'é', '値', 'O', 'R', '\u{0}', ';',
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
