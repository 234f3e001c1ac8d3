// A real OpenID Connect provider for the tests: panva's certified oidc-provider, with its
// development login form (any login and password are accepted; the login becomes `sub`).
// Usage: node server.mjs '{"port": 5000, "clientId": "...", "clientSecret": "...",
//                          "redirectUris": ["..."], "groups": {"alice": ["admins"]}}'
import Provider from 'oidc-provider';

const config = JSON.parse(process.argv[2]);
const issuer = `http://127.0.0.1:${config.port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: config.clientId,
    client_secret: config.clientSecret,
    redirect_uris: config.redirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    // Groups come with the portal's default scopes ("email profile"), as many IdPs do.
    profile: ['name', 'given_name', 'family_name', 'preferred_username', 'groups'],
  },
  findAccount: (ctx, id) => ({
    accountId: id,
    claims: () => ({
      sub: id,
      email: `${id}@example.org`,
      email_verified: true,
      name: `${id} Example`,
      given_name: id,
      family_name: 'Example',
      preferred_username: `${id}-handle`,
      groups: config.groups[id] ?? [],
    }),
  }),
  // The portal is a first-party client: grant what it asks without a consent page.
  loadExistingGrant: async (ctx) => {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(ctx.oidc.requestParamScopes ? [...ctx.oidc.requestParamScopes].join(' ') : 'openid');
    grant.addOIDCClaims([...ctx.oidc.requestParamClaims ?? []]);
    await grant.save();
    return grant;
  },
  features: { devInteractions: { enabled: true } },
});

provider.listen(config.port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
