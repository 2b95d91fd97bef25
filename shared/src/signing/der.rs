//! The little DER an RSA SubjectPublicKeyInfo needs (RFC 5280, RFC 8017
//! appendix A.1.1), so the KMS adapter reads `GetPublicKey` without linking
//! an RSA implementation.

/// rsaEncryption, 1.2.840.113549.1.1.1, as DER content bytes.
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// One tag-length-value: (tag, content, rest).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let count = (first & 0x7f) as usize;
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | b as usize);
        (len, &rest[count..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (t, content, rest) = tlv(input)?;
    (t == tag).then_some((content, rest))
}

const SEQUENCE: u8 = 0x30;
const OID: u8 = 0x06;
const BIT_STRING: u8 = 0x03;
const INTEGER: u8 = 0x02;

/// The modulus and exponent of an RSA SubjectPublicKeyInfo.
pub fn rsa_spki(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (spki, _) = expect(der, SEQUENCE)?;
    let (algorithm, rest) = expect(spki, SEQUENCE)?;
    let (oid, _) = expect(algorithm, OID)?;
    if oid != RSA_ENCRYPTION {
        return None;
    }
    let (bits, _) = expect(rest, BIT_STRING)?;
    // The first content byte counts unused bits: none for a DER key.
    let (&0, key) = bits.split_first()? else {
        return None;
    };
    let (key, _) = expect(key, SEQUENCE)?;
    let (n, rest) = expect(key, INTEGER)?;
    let (e, _) = expect(rest, INTEGER)?;
    Some((n, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_an_rsa_key() {
        for junk in [
            &[][..],
            &[0x30],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x02, 0x01, 0x00],
        ] {
            assert!(rsa_spki(junk).is_none(), "{junk:?}");
        }
        // An EC key's SPKI (id-ecPublicKey) is not RSA.
        let ec = [
            0x30, 0x0d, 0x30, 0x09, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x03,
            0x00,
        ];
        assert!(rsa_spki(&ec).is_none());
    }
}
