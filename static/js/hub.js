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

// Scrolling boxes (code samples, wide tables, charts on a phone) take keyboard focus while
// their content is wider or taller than they are, so they can be scrolled with the arrow
// keys; the tab stop goes again when everything fits.
const SCROLLERS = "pre, .table-wrap, .chart";
function focusableScrollers() {
  for (const box of document.querySelectorAll(SCROLLERS)) {
    const scrolls =
      box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1;
    if (scrolls && !box.hasAttribute("tabindex")) {
      box.setAttribute("tabindex", "0");
      box.dataset.scrollFocus = "";
    } else if (!scrolls && "scrollFocus" in box.dataset) {
      box.removeAttribute("tabindex");
      delete box.dataset.scrollFocus;
    }
  }
}
let resizing = false;
window.addEventListener("resize", () => {
  if (resizing) return;
  resizing = true;
  requestAnimationFrame(() => {
    resizing = false;
    focusableScrollers();
  });
});
document.addEventListener("DOMContentLoaded", focusableScrollers);
window.addEventListener("load", focusableScrollers); // once the fonts are in, widths are final

// After htmx swaps part of a page, keyboard and screen-reader users keep their place:
// - if the control they used went away with the old content, focus goes to the first field
//   marked invalid in the new content, else to the same control, else to the new message,
//   else to the swapped part (never to <body>);
// - a new message (role=status or alert) outside a live region that was already on the page
//   is read out through a hidden live region (a region inserted with its text in it is not
//   reliably announced), when the swap answered something the person did (not a poll).
const MESSAGES = "[role=status], [role=alert]";
const LIVE = "[aria-live], [role=status], [role=alert], [role=log]";
const announcer = document.createElement("div");
announcer.className = "sr-only";
announcer.setAttribute("aria-live", "polite");
announcer.setAttribute("aria-atomic", "true");
document.addEventListener("DOMContentLoaded", () =>
  (document.querySelector("main") || document.body).append(announcer),
);

function sameControl(old) {
  if (old.id) return () => document.getElementById(old.id);
  const form = old.form || old.closest("form");
  const action = form && (form.getAttribute("hx-post") || form.getAttribute("action"));
  const tag = old.tagName;
  const name = old.getAttribute("name");
  const value = old.getAttribute("value");
  const text = old.textContent.trim();
  return () => {
    const scopes = action
      ? [...document.forms].filter(
          (f) => (f.getAttribute("hx-post") || f.getAttribute("action")) === action,
        )
      : [document];
    for (const scope of scopes) {
      for (const candidate of scope.querySelectorAll(tag)) {
        if (
          candidate.getAttribute("name") === name &&
          candidate.getAttribute("value") === value &&
          (name || candidate.textContent.trim() === text)
        ) {
          return candidate;
        }
      }
    }
    return null;
  };
}

function usable(element) {
  return element && element.isConnected && !element.disabled && element.getClientRects().length;
}

function focusOn(element) {
  if (!element.matches("a[href], button, input, select, textarea, [tabindex]")) {
    element.setAttribute("tabindex", "-1");
  }
  element.focus();
}

let beforeSwap = null;
document.addEventListener("htmx:beforeSwap", (event) => {
  const active = document.activeElement;
  const target = event.detail.target;
  const focused = active && active !== document.body;
  const request = event.detail.requestConfig;
  beforeSwap = {
    // what someone did (a form sent, a link followed), not a region refreshing itself
    byPerson: Boolean(request && (request.verb !== "get" || request.triggeringEvent)),
    lost: Boolean(focused && target && target.contains(active)),
    find: focused ? sameControl(active) : null,
    messages: new Set(document.querySelectorAll(MESSAGES)),
    live: new Set(document.querySelectorAll(LIVE)),
  };
});

document.addEventListener("htmx:afterSettle", (event) => {
  const before = beforeSwap;
  beforeSwap = null;
  focusableScrollers();
  if (!before) return;
  const fresh = [...document.querySelectorAll(MESSAGES)].filter(
    (message) => !before.messages.has(message) && message.textContent.trim(),
  );
  let focusedMessage = null;
  const active = document.activeElement;
  if (before.lost && (!active || active === document.body)) {
    const settled = event.target;
    const swapped = settled instanceof Element && settled.isConnected ? settled : null;
    const invalid = swapped && swapped.querySelector("[aria-invalid=true]");
    const same = before.find && before.find();
    if (usable(invalid)) {
      invalid.focus();
    } else if (usable(same)) {
      same.focus();
    } else if (fresh.length) {
      focusedMessage = fresh[0];
      focusOn(focusedMessage);
    } else if (swapped) {
      focusOn(swapped.querySelector("h1, h2, h3") || swapped);
    }
  }
  const unannounced = fresh.filter((message) => {
    if (!before.byPerson) return false;
    const region = message.parentElement && message.parentElement.closest(LIVE);
    return message !== focusedMessage && !(region && before.live.has(region));
  });
  if (unannounced.length) {
    announcer.textContent = "";
    const text = unannounced.map((message) => message.textContent.trim()).join(" ");
    setTimeout(() => {
      announcer.textContent = text;
    }, 100);
  }
});
