// The page: a header, a main region each view fills, and a router on the URL's hash (#/find, ...).
// The links people are emailed or scan (/verify, /reset-password, /check-in) land on their views.

import { onSessionChange, refresh, signOut, signedIn } from "./api.js";
import { language, setLanguage, t } from "./i18n.js";
import { h, notice } from "./ui.js";
import * as auth from "./views/auth.js";
import * as admin from "./views/admin.js";
import { forget as forgetSpaces } from "./views/booking.js";
import * as bookings from "./views/bookings.js";
import * as checkin from "./views/checkin.js";
import * as find from "./views/find.js";
import * as space from "./views/space.js";

const routes = [
  [/^#\/signin$/, () => auth.signInView()],
  [/^#\/register$/, () => auth.registerView()],
  [/^#\/forgot$/, () => auth.forgotView()],
  [/^#\/find$/, (match, query) => find.view(query)],
  [/^#\/spaces\/([0-9a-f-]{36})$/, (match, query) => space.view(match[1], query)],
  [/^#\/bookings$/, () => needsSignIn(() => bookings.view())],
  [/^#\/admin\/spaces$/, () => needsSignIn(() => admin.listView())],
  [/^#\/admin\/spaces\/new$/, () => needsSignIn(() => admin.editView(null))],
  [/^#\/admin\/spaces\/([0-9a-f-]{36})$/, (match) => needsSignIn(() => admin.editView(match[1]))],
];

function needsSignIn(render) {
  if (signedIn()) return render();
  sessionStorage.setItem("reservas.after", location.hash);
  location.hash = "#/signin";
  return null;
}

export function go(hash) {
  if (location.hash === hash) show();
  else location.hash = hash;
}

let shown = 0; // the latest navigation: a slower, earlier one never replaces what it shows

async function show() {
  const showing = ++shown;
  const main = document.getElementById("view");
  const path = location.pathname;
  const params = new URLSearchParams(location.search);
  let content;
  if (path === "/verify" && params.get("token")) content = auth.verifyView(params.get("token"));
  else if (path === "/reset-password" && params.get("token")) content = auth.resetView(params.get("token"));
  else if (path === "/check-in" && params.get("space") && params.get("code"))
    content = checkin.view(params.get("space"), params.get("code"));
  else {
    const [hash, query = ""] = (location.hash || "#/find").split("?");
    const route = routes.find(([pattern]) => pattern.test(hash));
    content = route ? route[1](hash.match(route[0]), new URLSearchParams(query)) : find.view(new URLSearchParams());
  }
  if (content === null) return;
  main.replaceChildren(h("p", { class: "loading" }, t("loading")));
  let view;
  try {
    view = await content;
  } catch (error) {
    view = notice(error.problem?.network ? t("error.network") : error.problem?.detail || t("error.generic"), "error");
  }
  if (showing !== shown) return;
  main.replaceChildren(view);
  main.focus({ preventScroll: false });
  drawNav();
}

function drawNav() {
  const nav = document.getElementById("nav");
  const who = signedIn();
  const current = (location.hash || "#/find").split("?")[0];
  const link = (hash, key) => h("a", { href: hash, "aria-current": current === hash ? "page" : null }, t(key));
  const items = [link("#/find", "nav.find")];
  if (who) {
    items.push(link("#/bookings", "nav.bookings"));
    if (who.role === "admin") items.push(link("#/admin/spaces", "nav.admin"));
    items.push(
      h("span", { class: "who" }, t("signedInAs", { name: who.name })),
      h(
        "button",
        {
          type: "button",
          class: "link",
          onclick: async () => {
            await signOut();
            go("#/signin");
          },
        },
        t("nav.signout"),
      ),
    );
  } else {
    items.push(link("#/signin", "nav.signin"), link("#/register", "nav.register"));
  }
  nav.replaceChildren(h("ul", {}, items.map((item) => h("li", {}, item))));
}

function drawChrome() {
  document.getElementById("skip").textContent = t("skip");
  document.getElementById("language-label").textContent = t("language");
  document.getElementById("language").value = language();
}

export function afterSignIn() {
  const after = sessionStorage.getItem("reservas.after");
  sessionStorage.removeItem("reservas.after");
  if (location.pathname !== "/") history.replaceState(null, "", "/" + (after || "#/find"));
  go(after || "#/find");
}

async function start() {
  setLanguage(language());
  drawChrome();
  document.getElementById("language").addEventListener("change", (event) => {
    setLanguage(event.target.value);
    drawChrome();
    show();
  });
  onSessionChange((who) => {
    if (!who) {
      // Nothing of the person who left stays: what was announced, the spaces read, the view.
      document.getElementById("announcer").textContent = "";
      forgetSpaces();
    }
    drawNav();
  });
  document.getElementById("skip").addEventListener("click", (event) => {
    event.preventDefault(); // #view is not a route: focus the content without navigating
    document.getElementById("view").focus();
  });
  window.addEventListener("hashchange", show);
  await refresh(); // a session kept in the refresh cookie signs in again
  drawNav();
  await show();
}

start();
