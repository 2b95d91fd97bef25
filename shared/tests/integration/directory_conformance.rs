//! One conformance suite for the directory port, run against each adapter:
//! rekey's own accounts (on both stores) and a Cognito user pool on moto.

use std::sync::Arc;

use crate::support::cognito::TestPool;
use crate::support::*;
use rekey::directory::cognito::CognitoPool;
use rekey::directory::{Directory, RekeyAccounts};
use rekey::domain::{EmailAddress, UserId};
use rekey::password::NewPassword;

/// A directory under test and how to add accounts to it.
struct Subject {
    directory: Arc<dyn Directory>,
    pool: Option<(TestPool, Arc<CognitoPool>)>,
    store: TestStore,
}

impl Subject {
    async fn rekey(kind: StoreKind) -> Self {
        let store = TestStore::new(kind).await;
        Self {
            directory: Arc::new(RekeyAccounts::new(store.store.clone())),
            pool: None,
            store,
        }
    }

    async fn pool() -> Self {
        let store = TestStore::new(StoreKind::Dynamo).await;
        let pool = TestPool::new(None).await;
        let directory = pool.directory(store.store.clone(), true).await;
        Self {
            directory: directory.clone(),
            pool: Some((pool, directory)),
            store,
        }
    }

    /// An enabled account at `email`: the id the directory knows it by.
    async fn add(&self, email: &str) -> UserId {
        match &self.pool {
            Some((pool, _)) => pool.add_user(email).await.sub,
            None => add_user(&*self.store.store, &config(), email).await.id,
        }
    }

    async fn add_disabled(&self, email: &str) -> UserId {
        match &self.pool {
            Some((pool, _)) => {
                let user = pool.add_user(email).await;
                pool.disable(&user).await;
                user.sub
            }
            None => {
                let id = add_user(&*self.store.store, &config(), email).await.id;
                self.store.store.set_user_disabled(&id, true).await.unwrap();
                id
            }
        }
    }
}

async fn accounts_are_found_by_address_and_by_id(s: Subject) {
    let email = unique_email();
    let id = s.add(&email).await;
    let address = EmailAddress::parse(&email).unwrap();
    let by_address = s.directory.user_by_email(&address).await.unwrap().unwrap();
    assert_eq!((&by_address.id, &by_address.email), (&id, &address));
    assert!(!by_address.disabled);
    let by_id = s.directory.user(&id).await.unwrap().unwrap();
    assert_eq!(by_id.email, address);
    assert_eq!(by_id.credential_version, by_address.credential_version);
    let unknown = EmailAddress::parse(&unique_email()).unwrap();
    assert!(s.directory.user_by_email(&unknown).await.unwrap().is_none());
    assert!(
        s.directory
            .user(&UserId::generate())
            .await
            .unwrap()
            .is_none()
    );
}

/// A disabled account is no active account by address, and is flagged by id.
async fn disabled_accounts_are_flagged(s: Subject) {
    let email = unique_email();
    let id = s.add_disabled(&email).await;
    let address = EmailAddress::parse(&email).unwrap();
    let by_address = s.directory.user_by_email(&address).await.unwrap();
    assert!(by_address.is_none_or(|u| u.disabled));
    assert!(s.directory.user(&id).await.unwrap().unwrap().disabled);
}

/// A directory that keeps passwords takes a new one and signs in with it;
/// rekey's own leaves the hash to the change transaction and issues no
/// tokens of its own here. Sign-out works on any account.
async fn passwords_go_where_the_directory_keeps_them(s: Subject) {
    let id = s.add(&unique_email()).await;
    let user = s.directory.user(&id).await.unwrap().unwrap();
    let password = NewPassword::normalize(NEW_PASSWORD);
    s.directory.set_password(&user, &password).await.unwrap();
    let session = s.directory.sign_in(&user, &password).await.unwrap();
    assert_eq!(session.is_some(), s.directory.keeps_passwords());
    assert!(s.directory.can_sign_in().is_ok());
    s.directory.sign_out(&id).await.unwrap();
    if let Some((pool, _)) = &s.pool {
        let username = rekey::domain::UserId::parse(&pool_username(pool, &id).await).unwrap();
        // The pool's own username names the same account.
        assert_eq!(s.directory.user(&username).await.unwrap().unwrap().id, id);
    }
}

async fn pool_username(pool: &TestPool, sub: &UserId) -> String {
    let out = pool
        .client
        .list_users()
        .user_pool_id(&pool.pool_id)
        .filter(format!("sub = \"{sub}\""))
        .send()
        .await
        .unwrap();
    out.users()[0].username().unwrap().to_string()
}

macro_rules! directory_conformance {
    ($name:ident, $subject:expr) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn accounts_are_found_by_address_and_by_id() {
                super::accounts_are_found_by_address_and_by_id($subject).await;
            }
            #[tokio::test]
            async fn disabled_accounts_are_flagged() {
                super::disabled_accounts_are_flagged($subject).await;
            }
            #[tokio::test]
            async fn passwords_go_where_the_directory_keeps_them() {
                super::passwords_go_where_the_directory_keeps_them($subject).await;
            }
        }
    };
}

directory_conformance!(rekey_embedded, Subject::rekey(StoreKind::Embedded).await);
directory_conformance!(rekey_dynamodb, Subject::rekey(StoreKind::Dynamo).await);
directory_conformance!(cognito_pool, Subject::pool().await);
