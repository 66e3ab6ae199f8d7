// Live points tally on the documents step: recounts as boxes change, from the policy data
// in the checkboxes' data- attributes. The server recounts on saving; its count is the truth.
const form = document.getElementById("documents-form");

function recount() {
  const boxes = [...form.querySelectorAll('input[name="document"]:checked')];
  const sum = (category) => boxes
    .filter((box) => !category || box.dataset.category === category)
    .reduce((total, box) => total + Number(box.dataset.points), 0);
  const tally = {
    identity: sum("identity"),
    residency: sum("residency"),
    total: sum(null),
    photo: boxes.some((box) => box.dataset.photo === "yes"),
    birth: boxes.some((box) => box.dataset.birth === "yes"),
  };
  for (const cell of form.querySelectorAll("[data-tally]")) {
    const value = tally[cell.dataset.tally];
    cell.textContent = typeof value === "boolean"
      ? (value ? cell.dataset.yes : cell.dataset.no) : String(value);
  }
  const need = (name) => Number(form.dataset[name]);
  const gaps = {
    identity_points: tally.identity < need("needIdentity"),
    residency_points: tally.residency < need("needResidency"),
    total_points: tally.total < need("needTotal"),
    photo_document: !tally.photo,
    birth_date_document: !tally.birth,
  };
  for (const item of form.querySelectorAll("[data-gap]")) {
    item.hidden = !gaps[item.dataset.gap];
  }
  document.getElementById("no-gaps").hidden = Object.values(gaps).some(Boolean);
}

form.addEventListener("change", recount);
