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
        let mut openmetrics_quality = 0;
        let mut text_quality = 0;
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media_type = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let quality = parts
                .filter_map(|parameter| parameter.split_once('='))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("q"))
                .map_or(Some(1000), |(_, value)| parse_quality(value))
                .unwrap_or(0);
            match media_type.as_str() {
                OPENMETRICS => openmetrics_quality = openmetrics_quality.max(quality),
                "text/plain" | "text/*" | "*/*" => text_quality = text_quality.max(quality),
                _ => {}
            }
        }
        if openmetrics_quality > 0 && openmetrics_quality >= text_quality {
            Format::OpenMetrics
        } else {
            Format::Text
        }
    }
}

/// A quality value in thousandths: `0` to `1` with at most three decimals,
/// as RFC 9110 defines it. Anything else is malformed and makes the range
/// unacceptable. Integers, because float parsing costs the component kilobytes.
fn parse_quality(value: &str) -> Option<u16> {
    let (whole, fraction) = value.trim().split_once('.').unwrap_or((value.trim(), ""));
    let digits = |text: &str| text.bytes().all(|b| b.is_ascii_digit());
    if !matches!(whole, "0" | "1") || fraction.len() > 3 || !digits(fraction) {
        return None;
    }
    let thousandths = fraction.bytes().zip([100, 10, 1]).map(|(digit, scale)| u16::from(digit - b'0') * scale).sum::<u16>();
    let quality = if whole == "1" { 1000 + thousandths } else { thousandths };
    (quality <= 1000).then_some(quality)
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
    fn quality_values_are_thousandths() {
        assert_eq!(parse_quality("1"), Some(1000));
        assert_eq!(parse_quality("1.000"), Some(1000));
        assert_eq!(parse_quality("0.75"), Some(750));
        assert_eq!(parse_quality(" 0.5 "), Some(500));
        assert_eq!(parse_quality("0"), Some(0));
        for malformed in ["", "1.001", "2", "0.1234", "-0.5", "0.x", "banana", "1e0"] {
            assert_eq!(parse_quality(malformed), None, "{malformed:?}");
        }
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
            Some("application/openmetrics-text;q=1.5"),
            Some("application/openmetrics-text;q=.5"),
            Some("application/openmetrics-text;q=0.0001"),
            Some("application/openmetrics-text;q=0.5,text/plain;q=0.501"),
        ] {
            assert_eq!(Format::negotiate(accept), Format::Text, "Accept: {accept:?}");
        }
    }
}
