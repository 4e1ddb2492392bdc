//! `/ui/endpoints`: the serving endpoints of this server; `/ui/endpoints/{name}`:
//! variants with their weights and loaded versions, and live requests per
//! second and latency over the last minutes (the page reloads itself).

use std::time::Instant;

use axum::extract::{Path, State};
use maud::{Markup, PreEscaped, html};
use smelt_identity::resolve::Target;
use smelt_serving::Serving;
use smelt_serving::endpoint::{Endpoint, Variant};
use smelt_serving::metrics::TrafficTotals;

use super::{Page, PageError, PageResult, Shared};
use crate::UiState;
use crate::layout::{page, segment};
use crate::viewer::Viewer;
use smelt_charts::{LineChart, Series};

fn serving(ui: &UiState) -> Result<&Serving, PageError> {
    ui.serving
        .as_deref()
        .ok_or_else(|| PageError::not_found("this server hosts no endpoints"))
}

pub async fn list(State(ui): Shared, viewer: Viewer) -> PageResult {
    let endpoints = viewer
        .readable(serving(&ui)?.list(), |endpoint| {
            Some(Target::Endpoint(endpoint.name.to_string()))
        })
        .await;
    let content = html! {
        h1 { "Endpoints" }
        @if endpoints.is_empty() {
            p.muted { "No endpoints: smelt endpoints create NAME --model models:/NAME@ALIAS --server URL." }
        } @else {
            table #endpoints {
                thead { tr { th { "Endpoint" } th { "Ready" } th { "Variants" } th { "Invocations URL" } } }
                tbody {
                    @for endpoint in &endpoints {
                        tr {
                            td { a href={ "/ui/endpoints/" (segment(&endpoint.name)) } { (endpoint.name) } }
                            td { (if endpoint.is_ready() { "yes" } else { "no" }) }
                            td { @for variant in &endpoint.variants { (variant_label(variant)) " " } }
                            td.muted { "/endpoints/" (endpoint.name) "/invocations" }
                        }
                    }
                }
            }
        }
    };
    Ok(Page(page(&viewer, "Endpoints", None, content)))
}

pub async fn detail(State(ui): Shared, viewer: Viewer, Path(name): Path<String>) -> PageResult {
    let endpoint = serving(&ui)?.get(&name)?;
    let traffic = ui.traffic.endpoint(&name, Instant::now());
    // Totals as of now (the charts' samples are up to a second old).
    let totals: Vec<TrafficTotals> = serving(&ui)?
        .metrics
        .traffic()
        .into_iter()
        .filter(|t| t.endpoint == name)
        .collect();
    let mut rate = LineChart::new("Requests per second")
        .x_label("seconds ago")
        .y_label("requests/s");
    let mut latency = LineChart::new("Mean latency (ms)")
        .x_label("seconds ago")
        .y_label("ms");
    for variant in &traffic {
        rate = rate.series(Series::new(
            &variant.variant,
            variant.requests_per_second.clone(),
        ));
        latency = latency.series(Series::new(
            &variant.variant,
            variant.mean_latency_ms.clone(),
        ));
    }
    let total_weight: u64 = endpoint
        .variants
        .iter()
        .map(|v| u64::from(v.spec.weight))
        .sum();
    let content = html! {
        h1 { "Endpoint " (endpoint.name) }
        p.muted { "POST /endpoints/" (endpoint.name) "/invocations (MLflow scoring protocol) · /v2/models/" (endpoint.name) "/infer (Open Inference Protocol)" }
        h2 { "Variants" }
        table #variants {
            thead { tr { th { "Variant" } th { "Model" } th { "Weight" } th { "Share" } th { "Serving version" } th { "Requests" } th { "Errors" } } }
            tbody {
                @for variant in &endpoint.variants {
                    (variant_row(variant, total_weight, &totals))
                }
                @if let Some(shadow) = &endpoint.shadow {
                    (variant_row(shadow, 0, &totals))
                }
            }
        }
        (capture_note(&endpoint))
        h2 { "Live traffic" }
        div.charts #traffic-charts {
            div.chart { (PreEscaped(rate.to_svg())) }
            div.chart { (PreEscaped(latency.to_svg())) }
        }
    };
    Ok(Page(page(
        &viewer,
        &format!("Endpoint {name}"),
        Some(5),
        content,
    )))
}

fn variant_label(variant: &Variant) -> String {
    format!("{} ({})", variant.name, variant.spec.model)
}

fn variant_row(variant: &Variant, total_weight: u64, totals: &[TrafficTotals]) -> Markup {
    let share = if total_weight == 0 {
        "shadow".to_string()
    } else {
        format!(
            "{:.0} %",
            100.0 * f64::from(variant.spec.weight) / total_weight as f64
        )
    };
    let serving = variant
        .current
        .load_full()
        .map(|loaded| format!("{}/{}", loaded.name, loaded.version))
        .unwrap_or_else(|| "not loaded".to_string());
    let (requests, errors) = totals
        .iter()
        .find(|t| t.variant == *variant.name)
        .map_or((0, 0), |t| (t.requests, t.errors));
    html! {
        tr data-variant=(variant.name) {
            td { (variant.name) }
            td { (variant.spec.model) }
            td.num { (variant.spec.weight) }
            td.num { (share) }
            td { (serving) }
            td.num { (requests) }
            td.num { (errors) }
        }
    }
}

fn capture_note(endpoint: &Endpoint) -> Markup {
    let capture = &endpoint.spec.capture;
    html! {
        p.muted {
            @if capture.sample_percent > 0.0 {
                "Capturing " (capture.sample_percent) " % of requests for monitoring."
            } @else {
                "Data capture is off."
            }
        }
    }
}
