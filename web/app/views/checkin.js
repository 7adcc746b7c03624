// Checking in with a space's printed QR code: /check-in?space=<id>&code=<code>. Scanning it is asking to
// check in: whoever is signed in is checked in at once; anyone else signs in here first.

import { api, signedIn } from "../api.js";
import { formatInterval, t } from "../i18n.js";
import { failure, h, notice, title } from "../ui.js";
import { signInFormFor } from "./auth.js";
import { spaceOf } from "./booking.js";

export async function view(spaceId, code) {
  const section = h("section", { class: "narrow" }, title(t("checkin.title")));
  const outcome = h("div", { class: "outcome" });
  const checkIn = async () => {
    try {
      const booking = await api("POST", "/reservations/check-in", { body: { space_id: spaceId, code } });
      const space = await spaceOf(booking.space_id);
      const when = formatInterval(booking.start_time, booking.end_time, space.timezone);
      outcome.replaceChildren(notice(t("checkin.done", { name: space.name, when }), "success"));
    } catch (error) {
      outcome.replaceChildren(failure(error));
    }
  };
  if (signedIn()) {
    await checkIn();
    section.append(outcome);
    return section;
  }
  const form = signInFormFor(async () => {
    form.replaceWith(outcome);
    await checkIn();
  });
  section.append(h("p", {}, t("checkin.signin")), form);
  return section;
}
