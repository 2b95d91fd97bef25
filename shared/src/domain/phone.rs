//! Phone numbers on accounts: E.164, validated strictly (SNS itself accepts
//! numbers without the `+`), and masked wherever they could be shown.

use serde::{Deserialize, Serialize};

/// An E.164 number: `+`, a country calling code not starting with 0, at
/// most 15 digits in all. Spaces, dashes, dots and parentheses a person
/// types are dropped.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(raw: &str) -> Option<Self> {
        let s: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect();
        let digits = s.strip_prefix('+')?;
        let ok = (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        ok.then_some(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `+1*******00`: the calling code's first digit and the last two,
    /// enough for an operator's console, never a log.
    pub fn masked(&self) -> String {
        let digits = &self.0[1..];
        let last = &digits[digits.len() - 2..];
        format!("+{}{}{last}", &digits[..1], "*".repeat(digits.len() - 3))
    }

    /// Whether the number is in one of `codes` (each `+` and 1-3 digits).
    pub fn in_any(&self, codes: &[CallingCode]) -> bool {
        codes.iter().any(|c| self.0.starts_with(c.as_str()))
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        PhoneNumber::parse(&raw).ok_or_else(|| "not an E.164 phone number".into())
    }
}

impl From<PhoneNumber> for String {
    fn from(p: PhoneNumber) -> String {
        p.0
    }
}

// A number is personal data: debug output shows only the masked form.
impl std::fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

/// A country calling code texts may go to (`SmsCountryCallingCodes`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallingCode(String);

impl CallingCode {
    /// `+1`, `+44`, `+353`: a `+` and one to three digits, not 0 first.
    pub fn parse(raw: &str) -> Option<Self> {
        let s = raw.trim();
        let digits = s.strip_prefix('+')?;
        let ok = (1..=3).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        ok.then(|| Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_strict_e164() {
        let p = PhoneNumber::parse("+1 (555) 555-0100").unwrap();
        assert_eq!(p.as_str(), "+15555550100");
        assert_eq!(p.masked(), "+1********00");
        assert!(!format!("{p:?}").contains("5550100"));
        for bad in [
            "15555550100",
            "+0123456789",
            "+1555abc0100",
            "+1234567890123456",
            "+1234567",
            "",
            "+",
            "++15555550100",
        ] {
            assert!(PhoneNumber::parse(bad).is_none(), "{bad}");
        }
        let json: Result<PhoneNumber, _> = serde_json::from_str("\"5555\"");
        assert!(json.is_err());
    }

    #[test]
    fn calling_codes_select_numbers() {
        let codes: Vec<CallingCode> = ["+1", "+44"]
            .iter()
            .map(|c| CallingCode::parse(c).unwrap())
            .collect();
        assert!(PhoneNumber::parse("+447700900123").unwrap().in_any(&codes));
        assert!(!PhoneNumber::parse("+33612345678").unwrap().in_any(&codes));
        assert!(!PhoneNumber::parse("+15555550100").unwrap().in_any(&[]));
        for bad in ["1", "+0", "+1234", "+a", ""] {
            assert!(CallingCode::parse(bad).is_none(), "{bad}");
        }
    }
}
