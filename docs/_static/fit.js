// Tables wider than their column are shown one card per row (fit.css, "stacked"); each cell gets the name of its
// column to show beside its value. Checked again when the window changes size.
(function () {
  function label(table) {
    const names = Array.from(table.querySelectorAll("thead th")).map((th) => th.innerText.trim());
    table.querySelectorAll("tbody tr").forEach((row) => {
      Array.from(row.children).forEach((cell, i) => cell.setAttribute("data-label", names[i] || ""));
    });
  }
  function fit() {
    document.querySelectorAll(".rst-content table.docutils").forEach((table) => {
      if (!table.querySelector("thead")) return;
      table.classList.remove("stacked");
      const column = table.parentElement.closest("div, section") || table.parentElement;
      if (table.scrollWidth > column.clientWidth + 1) {
        label(table);
        table.classList.add("stacked");
      }
    });
  }
  window.addEventListener("load", fit);
  window.addEventListener("resize", fit);
})();
