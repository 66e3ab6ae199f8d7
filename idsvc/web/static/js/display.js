// The waiting-room screen: fetch the page again every few seconds and swap in the calls,
// so the screen never flashes blank. Without JavaScript the <noscript> meta refresh
// reloads the whole page instead.
(() => {
  "use strict";
  const seconds = Number(document.body.dataset.refresh) || 10;
  const region = document.getElementById("calls");

  async function refresh() {
    try {
      const response = await fetch(window.location.href,
                                   {cache: "no-store", credentials: "omit"});
      if (response.ok) {
        const page = new DOMParser().parseFromString(await response.text(), "text/html");
        const fresh = page.getElementById("calls");
        if (fresh && fresh.innerHTML !== region.innerHTML) {
          region.replaceChildren(...Array.from(fresh.childNodes,
                                               (node) => document.importNode(node, true)));
        }
      }
    } catch (error) {
      // The network is down for a moment: keep the last calls on screen and try again.
    }
    window.setTimeout(refresh, seconds * 1000);
  }

  window.setTimeout(refresh, seconds * 1000);
})();
