//! Where a request comes from, as the per-source limits count it.

/// The bucket a source address counts in for the per-source limit: an IPv4
/// address by itself (also when IPv4-mapped in IPv6), an IPv6 address by
/// its /64, which one client routinely holds whole, and a missing or
/// unparsable source in one shared bucket, so dropping the address does
/// not skip the limit.
pub fn source_bucket(source_ip: Option<&str>) -> String {
    use std::net::{IpAddr, Ipv6Addr};
    match source_ip.and_then(|s| s.trim().parse::<IpAddr>().ok()) {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let prefix = u128::from(v6) & !(u128::MAX >> 64);
                format!("{}/64", Ipv6Addr::from(prefix))
            }
        },
        None => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::source_bucket;

    #[test]
    fn ipv4_counts_by_the_full_address() {
        assert_eq!(source_bucket(Some("192.0.2.7")), "192.0.2.7");
        assert_ne!(
            source_bucket(Some("192.0.2.7")),
            source_bucket(Some("192.0.2.8"))
        );
    }

    #[test]
    fn ipv6_counts_by_its_64() {
        assert_eq!(
            source_bucket(Some("2001:db8:1:2:3:4:5:6")),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            source_bucket(Some("2001:db8:1:2:ffff:ffff:ffff:ffff")),
            source_bucket(Some("2001:db8:1:2::1"))
        );
        assert_ne!(
            source_bucket(Some("2001:db8:1:2::1")),
            source_bucket(Some("2001:db8:1:3::1"))
        );
        // The same /64 however it is written.
        assert_eq!(
            source_bucket(Some("2001:0DB8:0001:0002:0000:0000:0000:0001")),
            "2001:db8:1:2::/64"
        );
    }

    #[test]
    fn ipv4_mapped_ipv6_counts_as_the_ipv4_address() {
        assert_eq!(source_bucket(Some("::ffff:192.0.2.7")), "192.0.2.7");
        assert_ne!(
            source_bucket(Some("::ffff:192.0.2.7")),
            source_bucket(Some("::ffff:192.0.2.8"))
        );
    }

    #[test]
    fn missing_or_unparsable_sources_share_one_bucket() {
        let shared = source_bucket(None);
        for odd in [
            "",
            "not an address",
            "192.0.2.7:443",
            "[2001:db8::1]",
            "999.1.1.1",
        ] {
            assert_eq!(source_bucket(Some(odd)), shared, "{odd:?}");
        }
        assert_ne!(source_bucket(Some("192.0.2.7")), shared);
        assert_ne!(source_bucket(Some("2001:db8::1")), shared);
    }
}
