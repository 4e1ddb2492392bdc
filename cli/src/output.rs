//! Printing: tables for people, JSON for scripts, and the small formatting
//! helpers (times, numbers, sizes) the tables share.

use std::io::{IsTerminal, Write};

use comfy_table::{ContentArrangement, Table, presets};

/// A table with the given header, styled for a terminal (box lines, wrapped
/// to its width) or, when piped, as plain space-separated columns.
pub fn table<I, S>(header: I) -> Table
where
    I: IntoIterator<Item = S>,
    S: Into<comfy_table::Cell>,
{
    let mut table = Table::new();
    if std::io::stdout().is_terminal() {
        table
            .load_preset(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic);
    } else {
        table
            .load_preset(presets::NOTHING)
            .set_content_arrangement(ContentArrangement::Disabled);
    }
    table.set_header(header);
    table
}

/// A two-column key/value table (for `show` commands).
pub fn key_values<'a>(rows: impl IntoIterator<Item = (&'a str, String)>) -> Table {
    let mut table = table(["field", "value"]);
    for (key, value) in rows {
        table.add_row([key.to_string(), value]);
    }
    table
}

/// Prints a table, trimming the trailing spaces of plain layouts.
pub fn print_table(table: &Table) {
    let text = table.to_string();
    let mut out = std::io::stdout().lock();
    for line in text.lines() {
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// Prints a titled section (a blank line, the title, the table).
pub fn print_section(title: &str, table: &Table) {
    println!();
    println!("{title}");
    print_table(table);
}

/// Prints a value as pretty JSON (build it with `serde_json::json!` or
/// `serde_json::to_value`).
pub fn print_json(value: serde_json::Value) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(&value)?;
    println!("{text}");
    Ok(())
}

/// A millisecond timestamp as `YYYY-MM-DD HH:MM:SS` (UTC); empty when absent.
pub fn time(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// A run's duration (`1h02m`, `3m07s`, `4.2s`); empty when unknown.
pub fn duration(start: Option<i64>, end: Option<i64>) -> String {
    let (Some(start), Some(end)) = (start, end) else {
        return String::new();
    };
    let ms = (end - start).max(0);
    let secs = ms / 1000;
    if secs >= 3600 {
        format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60)
    } else if secs >= 60 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{:.1}s", ms as f64 / 1000.0)
    }
}

/// A metric value, short but faithful: six significant digits, scientific
/// notation for very large or small magnitudes.
pub fn number(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 {
            "inf".to_string()
        } else {
            "-inf".to_string()
        };
    }
    if value == value.trunc() && value.abs() < 1e15 {
        return format!("{value:.0}");
    }
    let magnitude = value.abs();
    if !(1e-4..1e6).contains(&magnitude) {
        return format!("{value:.4e}");
    }
    let decimals = (5 - magnitude.log10().floor() as i32).clamp(0, 9) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// A byte count for people (`512 B`, `1.5 KiB`, `3.2 MiB`).
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Cuts a long value for a table cell.
pub fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(number(1.0), "1");
        assert_eq!(number(0.123456789), "0.123457");
        assert_eq!(number(12.5), "12.5");
        assert_eq!(number(1234.56789), "1234.57");
        assert_eq!(number(1e-7), "1.0000e-7");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(-3.0), "-3");
    }

    #[test]
    fn times_and_sizes() {
        assert_eq!(time(Some(0)), "1970-01-01 00:00:00");
        assert_eq!(time(None), "");
        assert_eq!(duration(Some(0), Some(4200)), "4.2s");
        assert_eq!(duration(Some(0), Some(187_000)), "3m07s");
        assert_eq!(size(512), "512 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(truncate("abcdef", 4), "abc…");
    }
}
