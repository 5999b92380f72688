// A classic (blocking) script in <head>: applies the theme chosen in this
// browser before the first paint, so a light-theme reader never sees a dark
// flash. Without a choice the stylesheet follows prefers-color-scheme.
// (Module scripts run after parsing; the CSP forbids an inline script.)
(function () {
  try {
    var theme = window.localStorage.getItem("tv.theme");
    if (theme === "light" || theme === "dark") document.documentElement.dataset.theme = theme;
  } catch (error) {
    // No storage: follow the OS.
  }
})();
