// Signing in, registering, confirming an address, choosing a new password.

import { ApiError, api, signIn, verify } from "../api.js";
import { language, t } from "../i18n.js";
import { afterSignIn } from "../main.js";
import { field, h, handle, notice, title } from "../ui.js";

function form(children, submitLabel) {
  return h("form", { novalidate: true }, children, h("button", { type: "submit" }, submitLabel));
}

export function signInView() {
  const signInForm = signInFormFor(afterSignIn);
  return h(
    "section",
    { class: "narrow" },
    title(t("signin.title")),
    signInForm,
    h("p", {}, h("a", { href: "#/forgot" }, t("signin.forgot"))),
    h("p", {}, h("a", { href: "#/register" }, t("signin.new"))),
  );
}

// The API's 401 says it in English; the page says it in the person's language.
export async function signInOrSay(email, password) {
  try {
    await signIn(email, password);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) throw { problem: { detail: t("signin.failed") } };
    throw error;
  }
}

// A sign-in form that runs `done()` once signed in (the check-in page signs people in on its way).
export function signInFormFor(done) {
  const signInForm = form(
    [
      field(t("field.email"), { name: "email", type: "email", autocomplete: "username", required: true }),
      field(t("field.password"), {
        name: "password",
        type: "password",
        autocomplete: "current-password",
        required: true,
      }),
    ],
    t("signin.submit"),
  );
  handle(signInForm, async ({ email, password }) => {
    await signInOrSay(email, password);
    await done();
  });
  return signInForm;
}

export function registerView() {
  const section = h("section", { class: "narrow" }, title(t("register.title")));
  const registerForm = form(
    [
      field(t("field.name"), { name: "name", autocomplete: "name", required: true, maxlength: 100 }),
      field(t("field.email"), { name: "email", type: "email", autocomplete: "email", required: true }),
      field(
        t("field.password"),
        { name: "password", type: "password", autocomplete: "new-password", required: true },
        t("register.hint"),
      ),
    ],
    t("register.submit"),
  );
  handle(registerForm, async (values) => {
    await api("POST", "/auth/register", { body: { ...values, locale: language() } });
    registerForm.replaceWith(notice(t("register.sent")));
  });
  section.append(registerForm);
  return section;
}

export function verifyView(token) {
  const verifyForm = form(
    [
      field(t("field.password"), {
        name: "password",
        type: "password",
        autocomplete: "current-password",
        required: true,
      }),
    ],
    t("verify.submit"),
  );
  handle(verifyForm, async ({ password }) => {
    await verify(token, password);
    afterSignIn();
  });
  return h("section", { class: "narrow" }, title(t("verify.title")), h("p", {}, t("verify.intro")), verifyForm);
}

export function forgotView() {
  const forgotForm = form(
    [field(t("field.email"), { name: "email", type: "email", autocomplete: "email", required: true })],
    t("forgot.submit"),
  );
  handle(forgotForm, async ({ email }) => {
    await api("POST", "/auth/password-reset", { body: { email } });
    forgotForm.replaceWith(notice(t("forgot.sent")));
  });
  return h("section", { class: "narrow" }, title(t("forgot.title")), h("p", {}, t("forgot.intro")), forgotForm);
}

export function resetView(token) {
  const resetForm = form(
    [
      field(
        t("field.newPassword"),
        { name: "password", type: "password", autocomplete: "new-password", required: true },
        t("register.hint"),
      ),
    ],
    t("reset.submit"),
  );
  handle(resetForm, async ({ password }) => {
    await api("POST", "/auth/password-reset/confirm", { body: { token, password } });
    resetForm.replaceWith(notice(t("reset.done")), h("p", {}, h("a", { href: "/#/signin" }, t("nav.signin"))));
  });
  return h("section", { class: "narrow" }, title(t("reset.title")), resetForm);
}
