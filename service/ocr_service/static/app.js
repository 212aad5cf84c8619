// The upload page: send the chosen image to /v1/ocr, draw the line boxes over it, list the lines.
// A PDF or multi-page TIFF answers `pages`: a page picker chooses the page whose boxes and lines
// are shown (drawn on a blank sheet of the page's size: browsers do not draw PDF pages in a canvas).
// No framework and no external assets: the page must work on an offline host.
"use strict";

(function () {
  const dropZone = document.getElementById("drop-zone");
  const input = document.getElementById("file-input");
  const statusBox = document.getElementById("status");
  const errorBox = document.getElementById("error");
  const result = document.getElementById("result");
  const canvas = document.getElementById("canvas");
  const list = document.getElementById("lines");
  const lineCount = document.getElementById("line-count");
  const timings = document.getElementById("timings");
  const pagePicker = document.getElementById("page-picker");
  const pageSelect = document.getElementById("page-select");
  const COLORS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#008080", "#9a6324", "#800000"];

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  function clearOutput() {
    errorBox.hidden = true;
    errorBox.textContent = "";
    list.replaceChildren();
    lineCount.textContent = "";
    timings.textContent = "";
    canvas.dataset.boxes = "0";
    pagePicker.hidden = true;
    pageSelect.replaceChildren();
    pageSelect.onchange = null;
  }

  // The API always answers errors as {"error": {"code", "message"}}; anything else (a proxy's HTML
  // page, a dropped connection) still becomes one readable sentence.
  async function errorMessage(response) {
    try {
      const body = await response.json();
      if (body && body.error) {
        return `${body.error.message} (HTTP ${response.status}, ${body.error.code})`;
      }
    } catch (_) { /* not JSON */ }
    return `The service answered HTTP ${response.status} ${response.statusText}.`;
  }

  function loadImage(file) {
    return new Promise((resolve, reject) => {
      const url = URL.createObjectURL(file);
      const img = new Image();
      img.onload = () => resolve(img);
      img.onerror = () => { URL.revokeObjectURL(url); reject(new Error("decode")); };
      img.src = url;
    });
  }

  function draw(img, data) {
    // The service reports boxes in the pixels of the upright image (EXIF orientation applied); the
    // browser also displays images upright, so both agree. Scale from the service's size.
    canvas.width = data.width;
    canvas.height = data.height;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (img) {
      ctx.drawImage(img, 0, 0, data.width, data.height);
    }
    const lineWidth = Math.max(2, Math.round(Math.max(data.width, data.height) / 400));
    data.lines.forEach((line, i) => {
      ctx.strokeStyle = COLORS[i % COLORS.length];
      ctx.lineWidth = lineWidth;
      ctx.beginPath();
      line.box.forEach(([x, y], k) => (k === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y)));
      ctx.closePath();
      ctx.stroke();
      ctx.fillStyle = ctx.strokeStyle;
      ctx.font = `bold ${Math.max(12, lineWidth * 6)}px sans-serif`;
      ctx.fillText(String(i + 1), line.box[0][0], Math.max(12, line.box[0][1] - lineWidth * 2));
    });
    canvas.dataset.boxes = String(data.lines.length);
  }

  function listLines(data) {
    lineCount.textContent = `(${data.lines.length})`;
    data.lines.forEach((line, i) => {
      const item = document.createElement("li");
      item.className = "line";
      item.style.borderLeftColor = COLORS[i % COLORS.length];
      const number = document.createElement("span");
      number.className = "line-no";
      number.style.color = COLORS[i % COLORS.length];
      number.textContent = String(i + 1);
      const text = document.createElement("span");
      text.className = "line-text";
      text.textContent = line.text;
      const confidence = document.createElement("span");
      confidence.className = "line-confidence";
      confidence.textContent = `${(line.confidence * 100).toFixed(1)}%`;
      confidence.title = "recogniser confidence";
      item.append(number, text, confidence);
      list.append(item);
    });
    if (data.lines.length === 0) {
      const item = document.createElement("li");
      item.className = "line empty";
      item.textContent = "No text found.";
      list.append(item);
    }
    const t = data.timings_ms || {};
    // With OCR_ORIENT on, the service says how it turned the image to read it; the boxes are
    // still in the image as sent, so they are drawn over it unchanged.
    const turned = data.rotation ? ` · read turned ${data.rotation}° clockwise` : "";
    canvas.dataset.rotation = String(data.rotation || 0);
    timings.textContent = `${data.width}×${data.height} px${turned} · ${Math.round(t.total || 0)} ms · request ${data.request_id}`;
  }

  function showPages(data) {
    data.pages.forEach((page) => {
      const option = document.createElement("option");
      option.value = String(page.page);
      const turned = page.rotation ? `, turned ${page.rotation}°` : "";
      option.textContent = `Page ${page.page} (${page.lines.length} line(s)${page.text_layer ? ", text layer" : ""}${turned})`;
      pageSelect.append(option);
    });
    const showPage = () => {
      const page = data.pages.find((p) => String(p.page) === pageSelect.value) || data.pages[0];
      list.replaceChildren();
      draw(null, page);
      listLines({ ...page, timings_ms: data.timings_ms, request_id: data.request_id });
      canvas.dataset.page = String(page.page);
    };
    pageSelect.onchange = showPage;
    pagePicker.hidden = false;
    showPage();
  }

  async function send(file) {
    clearOutput();
    statusBox.textContent = `Reading ${file.name}…`;
    dropZone.classList.add("busy");
    const form = new FormData();
    form.append("image", file, file.name);
    try {
      const response = await fetch("v1/ocr", { method: "POST", body: form });
      if (!response.ok) {
        result.hidden = true;
        showError(await errorMessage(response));
        statusBox.textContent = "";
        return;
      }
      const data = await response.json();
      if (data.pages) {
        result.hidden = false;
        showPages(data);
        statusBox.textContent = `${file.name}: ${data.pages.length} page(s).`;
        return;
      }
      let img = null;
      try { img = await loadImage(file); } catch (_) { img = null; }  // e.g. TIFF: boxes only
      result.hidden = false;
      draw(img, data);
      listLines(data);
      statusBox.textContent = `${file.name}: ${data.lines.length} line(s).`;
    } catch (err) {
      result.hidden = true;
      showError(`Could not reach the OCR service (${err.message}).`);
      statusBox.textContent = "";
    } finally {
      dropZone.classList.remove("busy");
    }
  }

  input.addEventListener("change", () => {
    if (input.files.length) send(input.files[0]);
  });
  dropZone.addEventListener("click", (event) => {
    if (event.target !== input && event.target.tagName !== "LABEL") input.click();
  });
  dropZone.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); input.click(); }
  });
  ["dragenter", "dragover"].forEach((name) => dropZone.addEventListener(name, (event) => {
    event.preventDefault();
    dropZone.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((name) => dropZone.addEventListener(name, (event) => {
    event.preventDefault();
    dropZone.classList.remove("over");
  }));
  dropZone.addEventListener("drop", (event) => {
    const files = event.dataTransfer && event.dataTransfer.files;
    if (files && files.length) send(files[0]);
  });
})();
