// The guest list: "select all" ticks every guest of the page for a bulk action.
const all = document.getElementById("select-all");
if (all) {
  all.addEventListener("change", () => {
    for (const box of document.querySelectorAll("input[name=vmids]")) box.checked = all.checked;
  });
}
