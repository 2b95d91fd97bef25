//! A Cognito user pool on moto: users confirmed the way an operator
//! confirms them (AdminCreateUser, then a permanent AdminSetUserPassword),
//! an app client allowing ADMIN_USER_PASSWORD_AUTH, and the directory over it.

use std::sync::Arc;

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, AuthFlowType, ExplicitAuthFlowsType, MessageActionType, PasswordPolicyType,
    UserPoolPolicyType,
};
use rekey::Store;
use rekey::directory::cognito::CognitoPool;
use rekey::domain::{EmailAddress, UserId};

pub struct TestPool {
    pub client: Client,
    pub pool_id: String,
    pub client_id: String,
    /// What `add_user` confirms users with: long enough for either policy.
    pub password: String,
}

/// A pool user: the username the pool knows and the `sub` rekey keys by.
pub struct PoolUser {
    pub username: String,
    pub sub: UserId,
    pub email: EmailAddress,
}

impl TestPool {
    /// A fresh pool with moto's default policy, or one with a minimum length.
    pub async fn new(min_length: Option<i32>) -> Self {
        let client = Client::new(&super::aws_config().await);
        let mut create = client
            .create_user_pool()
            .pool_name(super::unique("rekey-pool"));
        if let Some(min) = min_length {
            create = create.policies(
                UserPoolPolicyType::builder()
                    .password_policy(
                        PasswordPolicyType::builder()
                            .minimum_length(min)
                            .require_uppercase(false)
                            .require_lowercase(false)
                            .require_numbers(false)
                            .require_symbols(false)
                            .build(),
                    )
                    .build(),
            );
        }
        let pool = create.send().await.expect("create a pool on moto");
        let pool_id = pool.user_pool().and_then(|p| p.id()).unwrap().to_string();
        let app = client
            .create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("rekey")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowAdminUserPasswordAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
            .send()
            .await
            .unwrap();
        let client_id = app
            .user_pool_client()
            .and_then(|c| c.client_id())
            .unwrap()
            .to_string();
        Self {
            client,
            pool_id,
            client_id,
            password: "Pool-Passw0rd-of-forty-five-characters-long!".to_string(),
        }
    }

    /// The directory over this pool, with its app client or without.
    pub async fn directory(&self, store: Arc<dyn Store>, with_client: bool) -> Arc<CognitoPool> {
        Arc::new(CognitoPool::from_sdk_config(
            &super::aws_config().await,
            self.pool_id.clone(),
            with_client.then(|| self.client_id.clone()),
            store,
        ))
    }

    /// An unconfirmed user (FORCE_CHANGE_PASSWORD) at `email`.
    pub async fn add_unconfirmed(&self, email: &str) -> PoolUser {
        let username = super::unique("pool-user");
        let out = self
            .client
            .admin_create_user()
            .user_pool_id(&self.pool_id)
            .username(&username)
            .temporary_password("Temp-Passw0rd-1!")
            .message_action(MessageActionType::Suppress)
            .user_attributes(attr("email", email))
            .user_attributes(attr("email_verified", "true"))
            .user_attributes(attr("name", "Ada Pool"))
            .send()
            .await
            .expect("AdminCreateUser");
        let sub = out
            .user()
            .unwrap()
            .attributes()
            .iter()
            .find(|a| a.name() == "sub")
            .and_then(|a| a.value())
            .unwrap()
            .to_string();
        PoolUser {
            username,
            sub: UserId::parse(&sub).unwrap(),
            email: EmailAddress::parse(email).unwrap(),
        }
    }

    /// A confirmed, enabled user at `email` with the pool's `password`.
    pub async fn add_user(&self, email: &str) -> PoolUser {
        let user = self.add_unconfirmed(email).await;
        self.client
            .admin_set_user_password()
            .user_pool_id(&self.pool_id)
            .username(&user.username)
            .password(&self.password)
            .permanent(true)
            .send()
            .await
            .expect("AdminSetUserPassword");
        user
    }

    /// Sets `user`'s email to `email`, unverified: what a user who edits
    /// their own attribute gets from Cognito (moto keeps the old
    /// `email_verified`, so it is set here).
    pub async fn claim_email_unverified(&self, user: &PoolUser, email: &str) {
        self.client
            .admin_update_user_attributes()
            .user_pool_id(&self.pool_id)
            .username(&user.username)
            .user_attributes(attr("email", email))
            .user_attributes(attr("email_verified", "false"))
            .send()
            .await
            .expect("AdminUpdateUserAttributes");
    }

    pub async fn disable(&self, user: &PoolUser) {
        self.client
            .admin_disable_user()
            .user_pool_id(&self.pool_id)
            .username(&user.username)
            .send()
            .await
            .unwrap();
    }

    /// Signs in with `password`: the refresh token, or None when refused.
    pub async fn sign_in(&self, user: &PoolUser, password: &str) -> Option<String> {
        let out = self
            .client
            .admin_initiate_auth()
            .user_pool_id(&self.pool_id)
            .client_id(&self.client_id)
            .auth_flow(AuthFlowType::AdminUserPasswordAuth)
            .auth_parameters("USERNAME", &user.username)
            .auth_parameters("PASSWORD", password)
            .send()
            .await
            .ok()?;
        out.authentication_result()?
            .refresh_token()
            .map(str::to_string)
    }

    /// Whether the pool still honours `refresh_token` (a global sign-out
    /// revokes it).
    pub async fn refresh_works(&self, refresh_token: &str) -> bool {
        self.client
            .admin_initiate_auth()
            .user_pool_id(&self.pool_id)
            .client_id(&self.client_id)
            .auth_flow(AuthFlowType::RefreshTokenAuth)
            .auth_parameters("REFRESH_TOKEN", refresh_token)
            .send()
            .await
            .is_ok()
    }
}

fn attr(name: &str, value: &str) -> AttributeType {
    AttributeType::builder()
        .name(name)
        .value(value)
        .build()
        .unwrap()
}
