// The theme toggle in the header: light or dark, remembered in this browser
// (localStorage "tv.theme"); until the first click the page follows the OS
// (prefers-color-scheme). theme-init.js applies the choice before paint.
// A change is announced as the "tv:theme" event (the chart redraws).

const KEY = "tv.theme";
const media = window.matchMedia("(prefers-color-scheme: light)");

export function currentTheme() {
  const chosen = document.documentElement.dataset.theme;
  if (chosen === "light" || chosen === "dark") return chosen;
  return media.matches ? "light" : "dark";
}

export function setTheme(theme) {
  document.documentElement.dataset.theme = theme;
  try {
    window.localStorage.setItem(KEY, theme);
  } catch (error) {
    // No storage: this page only.
  }
  render();
  document.dispatchEvent(new CustomEvent("tv:theme", { detail: theme }));
}

function render() {
  const button = document.getElementById("theme-toggle");
  if (!button) return;
  const theme = currentTheme();
  const other = theme === "dark" ? "light" : "dark";
  button.dataset.theme = theme;
  button.setAttribute("aria-label", `Switch to the ${other} theme`);
  button.querySelector(".theme-icon").textContent = theme === "dark" ? "☀" : "☾";
  const meta = document.querySelector('meta[name="theme-color"]');
  if (meta) meta.setAttribute("content", theme === "dark" ? "#0f1419" : "#f6f8fa");
}

export function installThemeToggle() {
  const button = document.getElementById("theme-toggle");
  if (button) button.addEventListener("click", () => setTheme(currentTheme() === "dark" ? "light" : "dark"));
  media.addEventListener("change", () => {
    render();
    document.dispatchEvent(new CustomEvent("tv:theme", { detail: currentTheme() }));
  });
  render();
}

installThemeToggle();
