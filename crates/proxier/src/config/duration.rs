//! Go durations ([`GoDuration`]): the `30s`, `1m0s`, `1h2m3.5s` of
//! kube-proxy's flags (`time.ParseDuration`) and of its configuration file
//! (`metav1.Duration`, a JSON string), parsed and printed exactly as Go does.
//!
//! A duration is a signed count of nanoseconds; the sign is kept so that a
//! negative value in a file or flag reaches validation, which then names the
//! field (kube-proxy: "must be greater than or equal to 0").
//! [`parse_duration`] is the non-negative variant for our own flags.

use std::{fmt, str::FromStr, time::Duration};

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// A Go `time.Duration`: signed nanoseconds, printed like Go's
/// `Duration.String()` (`0s`, `250ms`, `30s`, `15m0s`, `24h0m0s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct GoDuration(pub i64);

/// Why a duration did not parse; the text is Go's own message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not a duration at all (`""`, `x`, `1.s.`).
    #[error("invalid duration {0:?}")]
    Invalid(String),
    /// A number without a unit (`5`); only `0` may go without one.
    #[error("missing unit in duration {0:?}")]
    MissingUnit(String),
    /// A unit Go does not know (`5d`).
    #[error("unknown unit {unit:?} in duration {text:?}")]
    UnknownUnit {
        /// The unit found.
        unit: String,
        /// The whole text.
        text: String,
    },
    /// Beyond ±292 years (Go's int64 nanoseconds).
    #[error("invalid duration {0:?}: out of range")]
    Overflow(String),
    /// A negative value where only non-negative ones make sense.
    #[error("invalid duration {0:?}: must not be negative")]
    Negative(String),
}

/// Nanoseconds per unit, Go's `unitMap`.
fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60 * 1_000_000_000,
        "h" => 3600 * 1_000_000_000,
        _ => return None,
    })
}

impl GoDuration {
    /// Zero.
    pub const ZERO: GoDuration = GoDuration(0);

    /// Whole seconds of `d` (saturating), as a Go duration.
    pub fn from_std(d: Duration) -> Self {
        GoDuration(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
    }

    /// Whether the duration is below zero.
    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// The duration as a [`Duration`]; negative values become zero.
    pub fn to_std(self) -> Duration {
        Duration::from_nanos(u64::try_from(self.0).unwrap_or(0))
    }

    /// Whole seconds, truncated like Go's `int(d.Seconds())`, clamped to
    /// `u32` (the IPVS timeouts are u32 seconds); negative values give 0.
    pub fn whole_seconds(self) -> u32 {
        u32::try_from(self.0.max(0) / 1_000_000_000).unwrap_or(u32::MAX)
    }
}

impl FromStr for GoDuration {
    type Err = DurationError;

    /// Go's `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or `0`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || DurationError::Invalid(text.to_owned());
        let overflow = || DurationError::Overflow(text.to_owned());
        let (negative, mut rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        if rest == "0" {
            return Ok(GoDuration(0));
        }
        if rest.is_empty() {
            return Err(invalid());
        }
        let mut total: u64 = 0;
        while !rest.is_empty() {
            let first = rest.as_bytes()[0];
            if !(first == b'.' || first.is_ascii_digit()) {
                return Err(invalid());
            }
            // The integer part.
            let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
            let mut value: u64 = 0;
            for digit in rest[..int_len].bytes() {
                value = value
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(u64::from(digit - b'0')))
                    .filter(|v| *v <= 1 << 63)
                    .ok_or_else(overflow)?;
            }
            rest = &rest[int_len..];
            // The fraction: digits beyond what fits are dropped, like Go.
            let mut fraction: u64 = 0;
            let mut scale: f64 = 1.0;
            let mut fraction_len = 0;
            if let Some(after_dot) = rest.strip_prefix('.') {
                fraction_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
                let mut overflowed = false;
                for digit in after_dot[..fraction_len].bytes() {
                    if overflowed {
                        continue;
                    }
                    match fraction
                        .checked_mul(10)
                        .and_then(|v| v.checked_add(u64::from(digit - b'0')))
                        .filter(|v| *v <= 1 << 63)
                    {
                        Some(v) => {
                            fraction = v;
                            scale *= 10.0;
                        }
                        None => overflowed = true,
                    }
                }
                rest = &after_dot[fraction_len..];
            }
            if int_len == 0 && fraction_len == 0 {
                return Err(invalid());
            }
            let unit_len = rest
                .char_indices()
                .find(|(_, c)| *c == '.' || c.is_ascii_digit())
                .map_or(rest.len(), |(i, _)| i);
            if unit_len == 0 {
                return Err(DurationError::MissingUnit(text.to_owned()));
            }
            let unit = &rest[..unit_len];
            rest = &rest[unit_len..];
            let nanos = unit_nanos(unit).ok_or_else(|| DurationError::UnknownUnit {
                unit: unit.to_owned(),
                text: text.to_owned(),
            })?;
            let mut part = value
                .checked_mul(nanos)
                .filter(|v| *v <= 1 << 63)
                .ok_or_else(overflow)?;
            if fraction > 0 {
                // Go: v += uint64(float64(f) * (float64(unit) / scale)).
                let extra = (fraction as f64 * (nanos as f64 / scale)) as u64;
                part = part
                    .checked_add(extra)
                    .filter(|v| *v <= 1 << 63)
                    .ok_or_else(overflow)?;
            }
            total = total
                .checked_add(part)
                .filter(|v| *v <= 1 << 63)
                .ok_or_else(overflow)?;
        }
        if negative {
            // -(1 << 63) is the one value only reachable negated.
            return Ok(GoDuration(0i64.wrapping_sub_unsigned(total)));
        }
        i64::try_from(total).map(GoDuration).map_err(|_| overflow())
    }
}

/// `value / 10^digits` with the fraction's trailing zeros (and the point,
/// if nothing is left) dropped: Go's `fmtFrac` + `fmtInt`.
fn push_decimal(out: &mut String, value: u64, digits: u32) {
    let scale = 10u64.pow(digits);
    out.push_str(&(value / scale).to_string());
    let fraction = value % scale;
    if fraction != 0 {
        let text = format!("{fraction:0width$}", width = digits as usize);
        out.push('.');
        out.push_str(text.trim_end_matches('0'));
    }
}

impl fmt::Display for GoDuration {
    /// Go's `Duration.String()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        if self.0 < 0 {
            out.push('-');
        }
        let nanos = self.0.unsigned_abs();
        if nanos == 0 {
            return f.write_str("0s");
        }
        if nanos < 1_000_000_000 {
            // Below a second: the largest unit that keeps an integer part.
            let (digits, unit) = match nanos {
                n if n < 1_000 => (0, "ns"),
                n if n < 1_000_000 => (3, "\u{b5}s"),
                _ => (6, "ms"),
            };
            push_decimal(&mut out, nanos, digits);
            out.push_str(unit);
        } else {
            let seconds = nanos / 1_000_000_000;
            let (hours, minutes) = (seconds / 3600, seconds / 60 % 60);
            if hours > 0 {
                out.push_str(&format!("{hours}h{minutes}m"));
            } else if minutes > 0 {
                out.push_str(&format!("{minutes}m"));
            }
            push_decimal(&mut out, nanos % 60_000_000_000, 9);
            out.push('s');
        }
        f.write_str(&out)
    }
}

impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for GoDuration {
    /// `metav1.Duration`: a string only (a bare number is an error, as in
    /// Go, where `5` is not a JSON string).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = GoDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Go duration string such as 30s, 1m0s or 250ms")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<GoDuration, E> {
                v.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// A non-negative Go duration for our own flags (`--graceful-check-period
/// 1m`, `--manifests-poll-period 200ms`).
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let d: GoDuration = text.parse()?;
    if d.is_negative() {
        return Err(DurationError::Negative(text.to_owned()));
    }
    Ok(d.to_std())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000_000;

    #[test]
    fn parses_like_go() {
        // Cases from Go's time package tests (parseDurationTests).
        let ok: &[(&str, i64)] = &[
            ("0", 0),
            ("-0", 0),
            ("+0", 0),
            ("0s", 0),
            ("5s", 5 * SECOND),
            ("30s", 30 * SECOND),
            ("1478s", 1478 * SECOND),
            ("-5s", -5 * SECOND),
            ("+5s", 5 * SECOND),
            ("5.0s", 5 * SECOND),
            ("5.6s", 5 * SECOND + 600_000_000),
            ("5.s", 5 * SECOND),
            (".5s", SECOND / 2),
            ("1.004s", SECOND + 4_000_000),
            ("1.0040s", SECOND + 4_000_000),
            ("100.00100s", 100 * SECOND + 1_000_000),
            ("10ns", 10),
            ("11us", 11_000),
            ("12\u{b5}s", 12_000),
            ("12\u{3bc}s", 12_000),
            ("13ms", 13_000_000),
            ("250ms", 250_000_000),
            ("14s", 14 * SECOND),
            ("15m", 15 * 60 * SECOND),
            ("16h", 16 * 3600 * SECOND),
            ("3h30m", (3 * 3600 + 30 * 60) * SECOND),
            ("10.5s4m", 4 * 60 * SECOND + 10 * SECOND + SECOND / 2),
            ("-2m3.4s", -(2 * 60 * SECOND + 3 * SECOND + 400_000_000)),
            ("1h2m3s4ms5us6ns", 3723 * SECOND + 4_005_006),
            ("1h2m3.5s", 3723 * SECOND + SECOND / 2),
            ("39h9m14.425s", 140_954_425_000_000),
            ("52763797000ns", 52_763_797_000),
            ("0.3333333333333333333h", 20 * 60 * SECOND),
            ("9007199254740993ns", (1 << 53) + 1),
            ("9223372036854775807ns", i64::MAX),
            ("-9223372036854775808ns", i64::MIN),
            ("0.100000000000000000000h", 6 * 60 * SECOND),
        ];
        for (text, nanos) in ok {
            assert_eq!(text.parse::<GoDuration>(), Ok(GoDuration(*nanos)), "{text}");
        }
    }

    #[test]
    fn rejects_like_go() {
        use std::mem::discriminant;
        let invalid = DurationError::Invalid(String::new());
        let missing = DurationError::MissingUnit(String::new());
        let unknown = DurationError::UnknownUnit {
            unit: String::new(),
            text: String::new(),
        };
        let overflow = DurationError::Overflow(String::new());
        let bad = [
            ("", &invalid),
            ("3", &missing),
            ("5", &missing),
            ("-", &invalid),
            ("s", &invalid),
            (".", &invalid),
            ("-.", &invalid),
            (".s", &invalid),
            ("+.s", &invalid),
            ("1d", &unknown),
            ("5 parsecs", &unknown),
            ("1s ", &unknown),
            (" 1s", &invalid),
            ("9223372036854775808ns", &overflow),
            ("9223372036854775.808us", &overflow),
            ("-9223372036854775809ns", &overflow),
            ("3000000h", &overflow),
        ];
        for (text, expected) in bad {
            let err = text.parse::<GoDuration>().unwrap_err();
            assert_eq!(
                discriminant(&err),
                discriminant(expected),
                "{text}: {err:?}"
            );
        }
    }

    #[test]
    fn prints_like_go() {
        // Cases from Go's durationTests.
        let cases: &[(i64, &str)] = &[
            (0, "0s"),
            (1, "1ns"),
            (1_100, "1.1\u{b5}s"),
            (2_200_000, "2.2ms"),
            (250_000_000, "250ms"),
            (3_300_000_000, "3.3s"),
            (30 * SECOND, "30s"),
            (60 * SECOND, "1m0s"),
            (4 * 60 * SECOND + 5 * SECOND, "4m5s"),
            (4 * 60 * SECOND + 5 * SECOND + 1_000_000, "4m5.001s"),
            (15 * 60 * SECOND, "15m0s"),
            (3600 * SECOND, "1h0m0s"),
            (24 * 3600 * SECOND, "24h0m0s"),
            (
                5 * 3600 * SECOND + 6 * 60 * SECOND + 7_001_000_000,
                "5h6m7.001s",
            ),
            (8 * 60 * SECOND + 1, "8m0.000000001s"),
            (-SECOND, "-1s"),
            (i64::MAX, "2562047h47m16.854775807s"),
            (i64::MIN, "-2562047h47m16.854775808s"),
        ];
        for (nanos, text) in cases {
            assert_eq!(GoDuration(*nanos).to_string(), *text, "{nanos}");
        }
    }

    #[test]
    fn round_trips() {
        for text in [
            "0s",
            "250ms",
            "30s",
            "15m0s",
            "1h2m3.5s",
            "-1s",
            "1.5\u{b5}s",
        ] {
            let d: GoDuration = text.parse().unwrap();
            assert_eq!(d.to_string(), text);
        }
    }

    #[test]
    fn own_flags_reject_negative() {
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(matches!(
            parse_duration("-1s"),
            Err(DurationError::Negative(_))
        ));
        assert!(matches!(
            parse_duration("5"),
            Err(DurationError::MissingUnit(_))
        ));
    }

    #[test]
    fn seconds_truncate() {
        assert_eq!(GoDuration(1_999_999_999).whole_seconds(), 1);
        assert_eq!(GoDuration(-5).whole_seconds(), 0);
        assert_eq!("15m".parse::<GoDuration>().unwrap().whole_seconds(), 900);
    }
}
