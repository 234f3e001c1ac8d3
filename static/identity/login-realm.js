// The login page: choosing an OpenID Connect realm shows its "Sign in with" button instead of
// the password fields (the page is rendered right for the preselected realm without this).
const select = document.querySelector("[data-realm-select]");
const openidForms = document.querySelectorAll("[data-openid-realm]");

function showSignInFor(realm) {
  let openid = false;
  for (const form of openidForms) {
    form.hidden = form.dataset.openidRealm !== realm;
    openid ||= !form.hidden;
  }
  for (const field of document.querySelectorAll("[data-password-field]")) {
    field.hidden = openid;
  }
}

if (select) {
  select.addEventListener("change", () => showSignInFor(select.value));
  showSignInFor(select.value);
}
