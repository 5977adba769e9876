// Upload progress for forms sent by htmx: fills the form's <progress class="upload-progress">.
document.addEventListener("htmx:xhr:progress", (event) => {
  const form = event.target.closest("form");
  const bar = form && form.querySelector("progress.upload-progress");
  if (!bar || !event.detail.lengthComputable) return;
  bar.hidden = false;
  bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
});

// A polled region marked data-keep-while-editing is not refreshed while someone is using a
// form inside it: the refresh would wipe what they are typing.
document.addEventListener("htmx:beforeRequest", (event) => {
  const region = event.detail.elt;
  if (!region.matches || !region.matches("[data-keep-while-editing]")) return;
  const typing = [...region.querySelectorAll("input[type=text], input[type=number]")].some(
    (input) => input.value !== input.defaultValue,
  );
  if (typing || region.contains(document.activeElement)) event.preventDefault();
});

// The browser's time zone, so the server can show times in it until the person picks one
// on their settings page.
(() => {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone && !document.cookie.split("; ").includes(`hub_tz=${zone}`)) {
    document.cookie = `hub_tz=${zone}; path=/; max-age=31536000; samesite=lax`;
  }
})();

// "Print or save as PDF" buttons: the browser's own print, with the print stylesheet.
document.addEventListener("click", (event) => {
  if (event.target.closest && event.target.closest("[data-print]")) window.print();
});
