//! Content negotiation for `/metrics`, by the rules of RFC 9110's `Accept`.

use crate::exposition::Format;

const OPENMETRICS: &str = "application/openmetrics-text";

impl Format {
    /// The format to answer an `Accept` header with.
    ///
    /// OpenMetrics is chosen when the client names it and ranks it at least as
    /// high as any range that admits the text format; everything else, a
    /// missing, malformed or unsatisfiable header included, gets the text
    /// format, which every Prometheus-compatible scraper reads.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Text;
        };
        let mut openmetrics_quality = 0.0_f32;
        let mut text_quality = 0.0_f32;
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media_type = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let quality = parts
                .filter_map(|parameter| parameter.split_once('='))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("q"))
                .map_or(Some(1.0), |(_, value)| parse_quality(value))
                .unwrap_or(0.0);
            match media_type.as_str() {
                OPENMETRICS => openmetrics_quality = openmetrics_quality.max(quality),
                "text/plain" | "text/*" | "*/*" => text_quality = text_quality.max(quality),
                _ => {}
            }
        }
        if openmetrics_quality > 0.0 && openmetrics_quality >= text_quality {
            Format::OpenMetrics
        } else {
            Format::Text
        }
    }
}

/// A quality value: 0 to 1 with at most three decimals; anything else is
/// malformed and ignored by making the range unacceptable.
fn parse_quality(value: &str) -> Option<f32> {
    let value = value.trim();
    let valid = !value.is_empty()
        && value.len() <= 5
        && value.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let quality: f32 = if valid { value.parse().ok()? } else { return None };
    (0.0..=1.0).contains(&quality).then_some(quality)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_gets_openmetrics() {
        let prometheus_2 = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(prometheus_2)), Format::OpenMetrics);
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text")),
            Format::OpenMetrics
        );
        assert_eq!(
            Format::negotiate(Some("Application/OpenMetrics-Text; version=1.0.0")),
            Format::OpenMetrics
        );
    }

    #[test]
    fn everyone_else_gets_text() {
        for accept in [
            None,
            Some(""),
            Some("*/*"),
            Some("text/plain"),
            Some("text/plain;version=0.0.4"),
            Some("application/json"),
            Some(";;;,,,=="),
            Some("application/openmetrics-text;q=0"),
            Some("application/openmetrics-text;q=0.2,text/plain;q=0.9"),
            Some("application/openmetrics-text;q=banana"),
            Some("application/openmetrics-text;q=2"),
        ] {
            assert_eq!(Format::negotiate(accept), Format::Text, "Accept: {accept:?}");
        }
    }
}
