//! One conformance suite, run against every `Store`: the embedded SQLite
//! store and the DynamoDB store on moto.

use rekey::reset::AddressRequest;
use std::sync::Arc;

use crate::support::*;
use rekey::crypto::{BearerSecret, LINK_TOKEN_PREFIX, SecretDigest};
use rekey::domain::{
    AuditEvent, ChangeClaim, ClientInfo, CredentialVersion, EmailAddress, GrantPurpose, IntakeItem,
    OutboxItem, PasswordChange, Redemption, RefreshToken, ResetCode, ResetGrant, Scope, UnixTime,
    User, UserId,
};
use rekey::store::{Store, StoreError};

fn mail(n: i64) -> OutboxItem {
    OutboxItem {
        id: unique("mail"),
        sealed: format!("sealed-{n}"),
        created_at: UnixTime::from_secs(n),
    }
}

fn grant_for(user: &User, ttl: i64) -> (BearerSecret, ResetGrant) {
    let ttl = std::time::Duration::from_secs(ttl.unsigned_abs());
    let token = BearerSecret::generate(LINK_TOKEN_PREFIX);
    let t = now();
    let grant = ResetGrant {
        digest: token.digest(),
        user_id: user.id.clone(),
        credential_version: user.credential_version,
        issued_at: t,
        expires_at: t + ttl,
        used_at: None,
        purpose: Some(GrantPurpose::AccountRecovery),
        origin: Some("https://app.example.com".into()),
    };
    (token, grant)
}

fn change_for(user: &User, expected: CredentialVersion) -> PasswordChange {
    PasswordChange {
        user_id: user.id.clone(),
        expected,
        new_hash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into(),
        history: vec!["older".into()],
        changed_at: now(),
        notice: mail(now_secs()),
        webhooks: Vec::new(),
        session: None,
        audit: AuditEvent {
            id: unique("audit"),
            user_id: user.id.clone(),
            action: "password_reset_link".into(),
            outcome: "success".into(),
            at: now(),
            source_ip: Some("192.0.2.7".into()),
            user_agent: Some("tests".into()),
            expires_at: now() + secs(3600),
        },
    }
}

async fn users_are_unique_by_id_and_email(s: &dyn Store) {
    let config = config();
    let email = unique_email();
    let user = add_user(s, &config, &email).await;
    assert_eq!(s.user(&user.id).await.unwrap().as_ref(), Some(&user));
    let by_email = s
        .user_by_email(&EmailAddress::parse(&email.to_uppercase()).unwrap())
        .await
        .unwrap();
    assert_eq!(by_email.as_ref(), Some(&user));
    assert!(s.user(&UserId::generate()).await.unwrap().is_none());
    assert!(
        s.user_by_email(&EmailAddress::parse(&unique_email()).unwrap())
            .await
            .unwrap()
            .is_none()
    );

    let same_email = User::new(UserId::generate(), user.email.clone(), now());
    assert!(matches!(
        s.insert_user(&same_email).await,
        Err(StoreError::Conflict(_))
    ));
    let same_id = User::new(
        user.id.clone(),
        EmailAddress::parse(&unique_email()).unwrap(),
        now(),
    );
    assert!(matches!(
        s.insert_user(&same_id).await,
        Err(StoreError::Conflict(_))
    ));
    // A refused insert leaves nothing behind: the second address is free.
    assert!(s.user_by_email(&same_id.email).await.unwrap().is_none());
    assert_eq!(s.users().await.unwrap(), vec![user]);
}

async fn api_keys_are_found_by_digest(s: &dyn Store) {
    let raw = add_key(s, &[Scope::ResetRequest, Scope::UsersWrite]).await;
    let key = s.api_key(&SecretDigest::of(&raw)).await.unwrap().unwrap();
    assert!(key.allows(Scope::ResetRequest) && key.allows(Scope::UsersWrite));
    assert!(!key.allows(Scope::UsersAdmin));
    assert!(
        s.api_key(&SecretDigest::of("rkk_other"))
            .await
            .unwrap()
            .is_none()
    );
}

async fn a_grant_and_its_mail_are_written_together(s: &dyn Store) {
    let user = add_user(s, &config(), &unique_email()).await;
    let (_, grant) = grant_for(&user, 3600);
    let first = mail(1);
    s.insert_grant(&grant, &first).await.unwrap();
    assert_eq!(s.grant(&grant.digest).await.unwrap().as_ref(), Some(&grant));
    assert!(s.mail_pending(&first.id).await.unwrap());
    // The same grant again is refused, and its mail is not queued either.
    let second = mail(2);
    assert!(matches!(
        s.insert_grant(&grant, &second).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(!s.mail_pending(&second.id).await.unwrap());
    assert_eq!(s.pending_mail(10).await.unwrap(), vec![first]);
}

async fn redeeming_is_single_use_and_all_or_nothing(s: &dyn Store) {
    let user = add_user(s, &config(), &unique_email()).await;
    let (_, grant) = grant_for(&user, 3600);
    s.insert_grant(&grant, &mail(1)).await.unwrap();

    // A stale credential version: refused, and the grant stays unused.
    let stale = change_for(&user, CredentialVersion(7));
    assert!(matches!(
        s.change_password(&stale, &Redemption::Grant(grant.digest.clone()))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.grant(&grant.digest).await.unwrap().unwrap().used_at, None);
    assert!(!s.mail_pending(&stale.notice.id).await.unwrap());

    let change = change_for(&user, user.credential_version);
    s.change_password(&change, &Redemption::Grant(grant.digest.clone()))
        .await
        .unwrap();
    let after = s.user(&user.id).await.unwrap().unwrap();
    assert_eq!(after.credential_version, CredentialVersion(1));
    assert_eq!(
        after.password_hash.as_deref(),
        Some(change.new_hash.as_str())
    );
    assert_eq!(after.password_history, vec!["older".to_string()]);
    assert!(
        s.grant(&grant.digest)
            .await
            .unwrap()
            .unwrap()
            .used_at
            .is_some()
    );
    assert!(s.mail_pending(&change.notice.id).await.unwrap());

    // Used once: a second redemption changes nothing.
    let again = change_for(&after, after.credential_version);
    assert!(matches!(
        s.change_password(&again, &Redemption::Grant(grant.digest.clone()))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        s.user(&user.id).await.unwrap().unwrap().credential_version,
        CredentialVersion(1)
    );
    assert!(!s.mail_pending(&again.notice.id).await.unwrap());
}

async fn expired_and_unknown_grants_cannot_be_redeemed(s: &dyn Store) {
    let user = add_user(s, &config(), &unique_email()).await;
    let (_, mut grant) = grant_for(&user, 3600);
    grant.expires_at = now() - secs(1);
    s.insert_grant(&grant, &mail(1)).await.unwrap();
    let change = change_for(&user, user.credential_version);
    assert!(matches!(
        s.change_password(&change, &Redemption::Grant(grant.digest.clone()))
            .await,
        Err(StoreError::Conflict(_))
    ));
    let (_, never_stored) = grant_for(&user, 3600);
    assert!(matches!(
        s.change_password(&change, &Redemption::Grant(never_stored.digest.clone()))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        s.user(&user.id).await.unwrap().unwrap().credential_version,
        CredentialVersion(0)
    );
}

async fn outbox_is_oldest_first_until_delivered(s: &dyn Store) {
    let (a, b, c) = (mail(30), mail(10), mail(20));
    for m in [&a, &b, &c] {
        s.enqueue_mail(m).await.unwrap();
    }
    assert_eq!(
        s.pending_mail(10).await.unwrap(),
        vec![b.clone(), c.clone(), a.clone()]
    );
    assert_eq!(s.pending_mail(2).await.unwrap(), vec![b.clone(), c.clone()]);
    s.mail_delivered(&b.id).await.unwrap();
    assert!(!s.mail_pending(&b.id).await.unwrap());
    assert!(s.mail_pending(&c.id).await.unwrap());
    assert_eq!(s.pending_mail(10).await.unwrap(), vec![c, a]);
}

fn code_for(user: &User, issued_at: i64) -> ResetCode {
    let issued_at = UnixTime::from_secs(issued_at);
    ResetCode {
        user_id: user.id.clone(),
        digest: format!("digest-{issued_at}"),
        credential_version: user.credential_version,
        issued_at,
        expires_at: issued_at + secs(3600),
        attempts: 0,
    }
}

async fn reset_codes_are_replaced_claimed_and_redeemed(s: &dyn Store) {
    let user = add_user(s, &config(), &unique_email()).await;
    let first = code_for(&user, 100);
    let with_mail = mail(1);
    let seq1 = s
        .replace_reset_code(&first, Some(&with_mail))
        .await
        .unwrap();
    assert!(s.mail_pending(&with_mail.id).await.unwrap());
    assert_eq!(s.reset_code(&user.id).await.unwrap(), Some(first.clone()));
    for _ in 0..3 {
        s.claim_code_attempt(&first, 3).await.unwrap();
    }
    assert!(matches!(
        s.claim_code_attempt(&first, 3).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.reset_code(&user.id).await.unwrap().unwrap().attempts, 3);

    // A new code replaces the old one, attempts and all, and bumps the sequence.
    let second = code_for(&user, 200);
    let seq2 = s.replace_reset_code(&second, None).await.unwrap();
    assert!(seq2 > seq1);
    assert_eq!(s.reset_code(&user.id).await.unwrap(), Some(second.clone()));
    assert!(matches!(
        s.claim_code_attempt(&first, 3).await,
        Err(StoreError::Conflict(_))
    ));
    s.claim_code_attempt(&second, 3).await.unwrap();

    let stale = change_for(&user, user.credential_version);
    assert!(matches!(
        s.change_password(
            &stale,
            &Redemption::Code {
                digest: first.digest.clone()
            }
        )
        .await,
        Err(StoreError::Conflict(_))
    ));
    let change = change_for(&user, user.credential_version);
    s.change_password(
        &change,
        &Redemption::Code {
            digest: second.digest.clone(),
        },
    )
    .await
    .unwrap();
    assert!(
        s.reset_code(&user.id).await.unwrap().is_none(),
        "a redeemed code is gone"
    );
    let after = s.user(&user.id).await.unwrap().unwrap();
    assert_eq!(after.credential_version, CredentialVersion(1));
    assert!(after.sequence > seq2);

    let nobody = User::new(
        UserId::generate(),
        EmailAddress::parse(&unique_email()).unwrap(),
        now(),
    );
    assert!(matches!(
        s.replace_reset_code(&code_for(&nobody, 1), None).await,
        Err(StoreError::Conflict(_))
    ));
}

/// A code replaced within the same second shares the old one's issue time;
/// only the digest tells them apart, so the old one can be neither claimed
/// nor consumed.
async fn a_code_replaced_in_the_same_second_is_gone(s: &dyn Store) {
    let user = add_user(s, &config(), &unique_email()).await;
    let old = code_for(&user, 300);
    s.replace_reset_code(&old, None).await.unwrap();
    let new = ResetCode {
        digest: "digest-300-replacement".into(),
        ..code_for(&user, 300)
    };
    s.replace_reset_code(&new, None).await.unwrap();
    assert!(matches!(
        s.claim_code_attempt(&old, 3).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.reset_code(&user.id).await.unwrap().unwrap().attempts, 0);
    let change = change_for(&user, user.credential_version);
    assert!(matches!(
        s.change_password(
            &change,
            &Redemption::Code {
                digest: old.digest.clone()
            }
        )
        .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.reset_code(&user.id).await.unwrap(), Some(new.clone()));
    s.claim_code_attempt(&new, 3).await.unwrap();
}

async fn sessions_are_written_with_the_change(s: &dyn Store) {
    let user = add_user(s, &config(), &unique_email()).await;
    let raw = BearerSecret::generate(rekey::crypto::REFRESH_TOKEN_PREFIX);
    let session = RefreshToken {
        digest: raw.digest(),
        user_id: user.id.clone(),
        credential_version: user.credential_version.next(),
        client_id: "rekey".into(),
        scope: "account".into(),
        issued_at: now(),
        expires_at: now() + secs(60),
        family: uuid::Uuid::new_v4().to_string(),
        used_at: None,
    };
    // A stale version writes neither the password nor the session.
    let mut stale = change_for(&user, CredentialVersion(9));
    stale.session = Some(session.clone());
    assert!(matches!(
        s.change_password(&stale, &Redemption::Nothing).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(s.refresh_token(&session.digest).await.unwrap().is_none());

    let mut change = change_for(&user, user.credential_version);
    change.session = Some(session.clone());
    s.change_password(&change, &Redemption::Nothing)
        .await
        .unwrap();
    assert_eq!(
        s.refresh_token(&session.digest).await.unwrap(),
        Some(session)
    );
}

async fn refresh_tokens_rotate_once_and_families_revoke(s: &dyn Store) {
    let user = add_user(s, &config(), &unique_email()).await;
    let t = now();
    let ttl = std::time::Duration::from_secs(60);
    let (_, first) = RefreshToken::issue(
        user.id.clone(),
        user.credential_version,
        "rekey".into(),
        "account".into(),
        t,
        ttl,
    );
    s.insert_refresh_token(&first).await.unwrap();
    assert!(matches!(
        s.insert_refresh_token(&first).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        s.refresh_token(&first.digest).await.unwrap(),
        Some(first.clone())
    );

    let (_, second) = first.successor(first.scope.clone(), t, ttl);
    assert_eq!(second.family, first.family);
    s.rotate_refresh_token(&first, &second).await.unwrap();
    let used = s.refresh_token(&first.digest).await.unwrap().unwrap();
    assert_eq!(used.used_at, Some(t));
    assert_eq!(
        s.refresh_token(&second.digest).await.unwrap(),
        Some(second.clone())
    );
    // A used token rotates no more, and its would-be successor is not written.
    let (_, again) = first.successor(first.scope.clone(), t, ttl);
    assert!(matches!(
        s.rotate_refresh_token(&first, &again).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(s.refresh_token(&again.digest).await.unwrap().is_none());

    // Issued under another credential version: refused.
    let mut stale = second.clone();
    stale.credential_version = CredentialVersion(user.credential_version.0 + 7);
    let (_, from_stale) = stale.successor(stale.scope.clone(), t, ttl);
    assert!(matches!(
        s.rotate_refresh_token(&stale, &from_stale).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(s.refresh_token(&from_stale.digest).await.unwrap().is_none());
    assert_eq!(
        s.refresh_token(&second.digest)
            .await
            .unwrap()
            .unwrap()
            .used_at,
        None,
        "the failed rotation left nothing behind"
    );

    // Expired: refused.
    let (_, expired) = RefreshToken::issue(
        user.id.clone(),
        user.credential_version,
        "rekey".into(),
        "account".into(),
        t - secs(120),
        ttl,
    );
    s.insert_refresh_token(&expired).await.unwrap();
    let (_, from_expired) = expired.successor(expired.scope.clone(), t, ttl);
    assert!(matches!(
        s.rotate_refresh_token(&expired, &from_expired).await,
        Err(StoreError::Conflict(_))
    ));

    // A revoked family: no member rotates, twice revoked is still revoked.
    s.revoke_refresh_family(&second.family, t, t + secs(60))
        .await
        .unwrap();
    s.revoke_refresh_family(&second.family, t + secs(1), t + secs(60))
        .await
        .unwrap();
    let (_, third) = second.successor(second.scope.clone(), t, ttl);
    assert!(matches!(
        s.rotate_refresh_token(&second, &third).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(s.refresh_token(&third.digest).await.unwrap().is_none());
    // Another family is untouched.
    let (_, other) = RefreshToken::issue(
        user.id.clone(),
        user.credential_version,
        "rekey".into(),
        "account".into(),
        t,
        ttl,
    );
    s.insert_refresh_token(&other).await.unwrap();
    let (_, other_next) = other.successor(other.scope.clone(), t, ttl);
    s.rotate_refresh_token(&other, &other_next).await.unwrap();
}

async fn counters_and_audit(s: &dyn Store) {
    let key = unique("counter");
    for expected in 1..=3 {
        assert_eq!(
            s.count_hit(&key, UnixTime::from_secs(1000), now() + secs(60))
                .await
                .unwrap(),
            expected
        );
    }
    assert_eq!(
        s.count_hit(&key, UnixTime::from_secs(1060), now() + secs(60))
            .await
            .unwrap(),
        1,
        "a new window starts at one"
    );
    assert_eq!(
        s.count_hit(
            &unique("counter"),
            UnixTime::from_secs(1000),
            now() + secs(60)
        )
        .await
        .unwrap(),
        1
    );

    // A change records its audit event in the same transaction.
    let user = add_user(s, &config(), &unique_email()).await;
    let change = change_for(&user, user.credential_version);
    s.change_password(&change, &Redemption::Nothing)
        .await
        .unwrap();
    let mut refusal = change.audit.clone();
    refusal.id = unique("audit");
    refusal.at = refusal.at + secs(1);
    refusal.outcome = "code_mismatch".into();
    s.record_audit(&refusal).await.unwrap();
    let events = s.audit_events(&user.id, 10).await.unwrap();
    assert_eq!(events, vec![refusal, change.audit.clone()], "newest first");
    // A refused change records nothing.
    let stale = change_for(&user, CredentialVersion(0));
    assert!(
        s.change_password(&stale, &Redemption::Nothing)
            .await
            .is_err()
    );
    assert_eq!(s.audit_events(&user.id, 10).await.unwrap().len(), 2);
}

/// An address request is delivered once: completing it removes it and
/// writes what it issued in one transaction; a second completion is a
/// conflict and writes nothing, so a redelivered request never mails twice.
async fn intake_is_completed_once(s: &dyn Store) {
    let request = |n: i64| IntakeItem {
        id: unique("intake"),
        sealed: format!("sealed-{n}"),
        created_at: UnixTime::from_secs(n),
    };
    let (first, second) = (request(1), request(2));
    for item in [&second, &first] {
        s.enqueue_intake(item).await.unwrap();
        assert!(s.intake_pending(&item.id).await.unwrap());
    }
    assert!(matches!(
        s.enqueue_intake(&first).await,
        Err(StoreError::Conflict(_))
    ));
    let pending = s.pending_intake(500).await.unwrap();
    let at = |item: &IntakeItem| pending.iter().position(|p| p == item).unwrap();
    assert!(at(&first) < at(&second), "oldest first");

    let user = add_user(s, &config(), &unique_email()).await;
    let (_, grant) = grant_for(&user, 3600);
    let link_mail = mail(now_secs());
    s.complete_intake(&first.id, Some((&grant, &link_mail)))
        .await
        .unwrap();
    assert!(!s.intake_pending(&first.id).await.unwrap());
    assert_eq!(s.grant(&grant.digest).await.unwrap(), Some(grant.clone()));
    assert!(s.mail_pending(&link_mail.id).await.unwrap());

    // Delivered again (a stream retry, a second worker): nothing written.
    let (_, again) = grant_for(&user, 3600);
    let again_mail = mail(now_secs());
    assert!(matches!(
        s.complete_intake(&first.id, Some((&again, &again_mail)))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.grant(&again.digest).await.unwrap(), None);
    assert!(!s.mail_pending(&again_mail.id).await.unwrap());

    // A request that issues nothing (no account) is only removed.
    s.complete_intake(&second.id, None).await.unwrap();
    assert!(!s.intake_pending(&second.id).await.unwrap());
    assert!(
        !s.pending_intake(500)
            .await
            .unwrap()
            .iter()
            .any(|p| p.id == first.id || p.id == second.id)
    );
}

/// Of 16 concurrent resets with one token exactly one succeeds; the others
/// are told the token was used.
async fn concurrent_resets_with_one_token_succeed_once(store: Arc<dyn Store>) {
    let config = config();
    let service = Arc::new(rekey::App::new(&config, store.clone()).reset);
    let email = unique_email();
    let user = add_user(&*store, &config, &email).await;
    deliver_now(
        &service,
        AddressRequest::ResetLink { entry: None },
        &user.email,
        &ClientInfo::default(),
    )
    .await;
    let item = store.pending_mail(1).await.unwrap().remove(0);
    let job = rekey::mail::MailJob::open(&config.keys, &item).unwrap();
    let rekey::mail::MailMessage::ResetLink { link, .. } = job.message else {
        panic!("not a link mail")
    };
    let token = link.split("token=").nth(1).unwrap().to_string();

    let attempts: Vec<_> = (0..16)
        .map(|i| {
            let (service, token) = (service.clone(), token.clone());
            tokio::spawn(async move {
                service
                    .reset_with_token(
                        &token,
                        &format!("{NEW_PASSWORD}-{i}"),
                        &ClientInfo::default(),
                    )
                    .await
            })
        })
        .collect();
    let mut ok = 0;
    for a in attempts {
        match a.await.unwrap() {
            Ok(_) => ok += 1,
            Err(rekey::ResetError::UsedToken) => {}
            Err(e) => panic!("unexpected outcome {e:?}"),
        }
    }
    assert_eq!(ok, 1, "exactly one concurrent reset succeeds");
    let after = store.user(&user.id).await.unwrap().unwrap();
    assert_eq!(after.credential_version, CredentialVersion(1));
    // The link mail and one "password changed" notice: no loser queued mail.
    assert_eq!(store.pending_mail(10).await.unwrap().len(), 2);
}

/// Disabling bumps the credential version and keeps everything else;
/// enabling changes only the flag; unknown users are a conflict.
async fn users_are_disabled_and_enabled(s: &dyn Store) {
    let user = add_user(s, &config(), &unique_email()).await;
    s.set_user_disabled(&user.id, true).await.unwrap();
    let disabled = s.user(&user.id).await.unwrap().unwrap();
    assert!(disabled.disabled);
    let bumped = User {
        credential_version: user.credential_version.next(),
        ..user.clone()
    };
    assert_eq!(
        User {
            disabled: false,
            ..disabled.clone()
        },
        bumped
    );
    assert!(
        s.user_by_email(&user.email)
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
    s.set_user_disabled(&user.id, false).await.unwrap();
    assert_eq!(s.user(&user.id).await.unwrap().unwrap(), bumped);
    assert!(matches!(
        s.set_user_disabled(&UserId::generate(), true).await,
        Err(StoreError::Conflict(_))
    ));
}

/// The rehash upgrade: only over the expected hash, and not a password
/// change (version, sequence, history untouched).
async fn password_hash_is_upgraded_only_if_unchanged(s: &dyn Store) {
    let user = add_user(s, &config(), &unique_email()).await;
    let old = user.password_hash.clone().unwrap();
    let upgraded = "$argon2id$v=19$m=64,t=1,p=1$bmV3c2FsdA$bmV3aGFzaG5ld2hhc2g";
    assert!(matches!(
        s.update_password_hash(&user.id, "$2b$12$not-the-stored-one", upgraded)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.user(&user.id).await.unwrap().unwrap(), user);
    s.update_password_hash(&user.id, &old, upgraded)
        .await
        .unwrap();
    let after = s.user(&user.id).await.unwrap().unwrap();
    assert_eq!(after.password_hash.as_deref(), Some(upgraded));
    assert_eq!(after.credential_version, user.credential_version);
    assert_eq!(after.sequence, user.sequence);
    assert_eq!(after.password_history, user.password_history);
    // A second upgrade from the old hash loses: the newer one stands.
    assert!(matches!(
        s.update_password_hash(&user.id, &old, "$argon2id$other")
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.update_password_hash(&UserId::generate(), &old, upgraded)
            .await,
        Err(StoreError::Conflict(_))
    ));
}

fn claim(
    user: &UserId,
    expected: CredentialVersion,
    holder: &str,
    at: UnixTime,
    until: UnixTime,
) -> ChangeClaim {
    ChangeClaim {
        user_id: user.clone(),
        expected,
        holder: holder.to_string(),
        at,
        until,
    }
}

/// A claim on the next password change: one holder per credential
/// version while it lasts; given back, run out, or ended by the change
/// (which moves the version), another may claim. Nothing else changes.
async fn password_changes_are_claimed_one_holder_at_a_time(s: &dyn Store) {
    let user = add_user(s, &config(), &unique_email()).await;
    let v = user.credential_version;
    let t = now();
    s.claim_password_change(&claim(&user.id, v, "a", t, t + secs(30)))
        .await
        .unwrap();
    assert!(matches!(
        s.claim_password_change(&claim(&user.id, v, "b", t, t + secs(30)))
            .await,
        Err(StoreError::Conflict(_))
    ));
    // The holder may renew its own claim; nobody else may release it.
    s.claim_password_change(&claim(&user.id, v, "a", t, t + secs(30)))
        .await
        .unwrap();
    assert!(matches!(
        s.release_password_change(&user.id, "b").await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        s.user(&user.id).await.unwrap().unwrap(),
        user,
        "a claim is not a change"
    );
    s.release_password_change(&user.id, "a").await.unwrap();
    s.claim_password_change(&claim(&user.id, v, "b", t, t + secs(30)))
        .await
        .unwrap();
    // Run out: another claims.
    s.claim_password_change(&claim(&user.id, v, "c", t + secs(31), t + secs(61)))
        .await
        .unwrap();
    // A stale version, or no such user: refused.
    assert!(matches!(
        s.claim_password_change(&claim(
            &user.id,
            v.next(),
            "d",
            t + secs(100),
            t + secs(130)
        ))
        .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.claim_password_change(&claim(&UserId::generate(), v, "d", t, t + secs(30)))
            .await,
        Err(StoreError::Conflict(_))
    ));
    // The change moves the version: the claim under the old one is over.
    s.change_password(&change_for(&user, v), &Redemption::Nothing)
        .await
        .unwrap();
    s.claim_password_change(&claim(&user.id, v.next(), "e", t + secs(32), t + secs(62)))
        .await
        .unwrap();
}

/// Keys are listed with digests and metadata only, and revoked by digest.
async fn api_keys_are_listed_and_revoked(s: &dyn Store) {
    assert!(s.api_keys().await.unwrap().is_empty());
    let first = add_key(s, &[Scope::ResetRequest]).await;
    let second = add_key(s, &[Scope::UsersWrite, Scope::UsersAdmin]).await;
    let listed = s.api_keys().await.unwrap();
    assert_eq!(listed.len(), 2);
    let mut digests: Vec<&str> = listed.iter().map(|k| k.digest.as_str()).collect();
    digests.sort();
    let mut expected = vec![
        SecretDigest::of(&first).as_str().to_string(),
        SecretDigest::of(&second).as_str().to_string(),
    ];
    expected.sort();
    assert_eq!(digests, expected);
    for k in &listed {
        assert_eq!(s.api_key(&k.digest).await.unwrap().as_ref(), Some(k));
        assert!(!k.revoked);
    }
    s.revoke_api_key(&SecretDigest::of(&first)).await.unwrap();
    let revoked = s.api_key(&SecretDigest::of(&first)).await.unwrap().unwrap();
    assert!(revoked.revoked && !revoked.allows(Scope::ResetRequest));
    assert!(
        !s.api_key(&SecretDigest::of(&second))
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
    assert_eq!(
        s.api_keys()
            .await
            .unwrap()
            .iter()
            .filter(|k| k.revoked)
            .count(),
        1
    );
    assert!(matches!(
        s.revoke_api_key(&SecretDigest::of("rkk_nobody")).await,
        Err(StoreError::Conflict(_))
    ));
}

macro_rules! conformance {
    ($name:ident, $subject:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn users_are_unique_by_id_and_email() {
                let s = $subject;
                super::users_are_unique_by_id_and_email(&*s.store).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn api_keys_are_found_by_digest() {
                let s = $subject;
                super::api_keys_are_found_by_digest(&*s.store).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn a_grant_and_its_mail_are_written_together() {
                let s = $subject;
                super::a_grant_and_its_mail_are_written_together(&*s.store).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn redeeming_is_single_use_and_all_or_nothing() {
                let s = $subject;
                super::redeeming_is_single_use_and_all_or_nothing(&*s.store).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn expired_and_unknown_grants_cannot_be_redeemed() {
                let s = $subject;
                super::expired_and_unknown_grants_cannot_be_redeemed(&*s.store).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn intake_is_completed_once() {
                let s = $subject;
                super::intake_is_completed_once(&*s.store).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn outbox_is_oldest_first_until_delivered() {
                let s = $subject;
                super::outbox_is_oldest_first_until_delivered(&*s.store).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn reset_codes_are_replaced_claimed_and_redeemed() {
                let s = $subject;
                super::reset_codes_are_replaced_claimed_and_redeemed(&*s.store).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn a_code_replaced_in_the_same_second_is_gone() {
                let s = $subject;
                super::a_code_replaced_in_the_same_second_is_gone(&*s.store).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sessions_are_written_with_the_change() {
                let s = $subject;
                super::sessions_are_written_with_the_change(&*s.store).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn refresh_tokens_rotate_once_and_families_revoke() {
                let s = $subject;
                super::refresh_tokens_rotate_once_and_families_revoke(&*s.store).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn counters_and_audit() {
                let s = $subject;
                super::counters_and_audit(&*s.store).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn users_are_disabled_and_enabled() {
                let s = $subject;
                super::users_are_disabled_and_enabled(&*s.store).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn password_hash_is_upgraded_only_if_unchanged() {
                let s = $subject;
                super::password_hash_is_upgraded_only_if_unchanged(&*s.store).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn password_changes_are_claimed_one_holder_at_a_time() {
                let s = $subject;
                super::password_changes_are_claimed_one_holder_at_a_time(&*s.store).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn api_keys_are_listed_and_revoked() {
                let s = $subject;
                super::api_keys_are_listed_and_revoked(&*s.store).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn concurrent_resets_with_one_token_succeed_once() {
                let s = $subject;
                super::concurrent_resets_with_one_token_succeed_once(s.store.clone()).await;
            }
        }
    };
}

conformance!(embedded_store, TestStore::new(StoreKind::Embedded).await);
conformance!(dynamodb_store, TestStore::new(StoreKind::Dynamo).await);
