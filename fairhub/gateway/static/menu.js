/* FairHub, the training menu (培训菜单) on a phone: the page works without this script; it only
 * keeps a sign-up from being sent twice by a second tap while the first is on its way.
 */
(() => {
"use strict";

for (const form of document.querySelectorAll("form.signup")) {
  form.addEventListener("submit", () => {
    const button = form.querySelector("button");
    if (button) button.disabled = true;
  });
}
})();
