// The document viewer (templates/viewer/show.html). pdf.js (pdfjs-dist, served from
// node_modules) draws one page at a time with its text layer. The words the search found
// come from the `viewer.matches` route, which marks the stored page text with the search's
// own rules; here they are marked in the text layer, and "Forrige fund"/"Næste fund" step
// through them across pages. A module from 'self': no inline script (CSP).

const MIN_SCALE = 0.5;
const MAX_SCALE = 2;

const root = document.getElementById("pdf-viewer");
if (root) {
  start(root).catch((error) => {
    console.error(error);
    say(root.querySelector("#viewer-status"), root.dataset.msgFailed);
  });
}

function say(element, text) {
  if (element) element.textContent = text;
}

function format(template, values) {
  return template.replace(/\{(\w+)\}/g, (all, name) => (name in values ? String(values[name]) : all));
}

async function fetchMatches(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (!response.ok) throw new Error(`matches: HTTP ${response.status}`);
  return (await response.json()).pages;
}

async function start(root) {
  const data = root.dataset;
  const pdfjs = await import(data.pdfjs);
  pdfjs.GlobalWorkerOptions.workerSrc = data.worker;
  const loading = pdfjs.getDocument({
    url: data.pdf,
    standardFontDataUrl: data.fonts,
    cMapUrl: data.cmaps,
    iccUrl: data.iccs,
    wasmUrl: data.wasm,
    // The worker runs under the policy of its own response (the vendor route's), which
    // allows no WebAssembly: go straight to pdf.js's JavaScript image decoders (JPEG 2000,
    // JBIG2, from the same folder) rather than fail first and log a violation per page.
    useWasm: false,
  });
  let matchesFailed = false;
  const matches = data.matches
    ? fetchMatches(data.matches).catch((error) => {
      console.error(error);
      matchesFailed = true;
      return [];
    })
    : Promise.resolve([]);
  const [pdf, pages] = await Promise.all([loading.promise, matches]);
  const viewer = new Viewer(root, pdfjs, pdf, pages, Boolean(data.matches));
  viewer.bind();
  await viewer.show(Number.parseInt(data.page, 10) || 1, { match: "first" });
  say(viewer.ui.status, matchesFailed ? data.msgMatchesFailed : "");
}

class Viewer {
  constructor(root, pdfjs, pdf, pages, searching) {
    this.root = root;
    this.messages = root.dataset;
    this.pdfjs = pdfjs;
    this.pdf = pdf;
    this.searching = searching;
    const find = (selector) => root.querySelector(selector);
    this.ui = {
      pages: find("#viewer-pages"),
      status: find("#viewer-status"),
      pageForm: find(".viewer-page-form"),
      pageInput: find("#viewer-page"),
      pageCount: find("#viewer-page-count"),
      previousPage: find("[data-action=previous-page]"),
      nextPage: find("[data-action=next-page]"),
      previousMatch: find("[data-action=previous-match]"),
      nextMatch: find("[data-action=next-match]"),
      matchStatus: find("#viewer-match-status"),
    };
    // Stops per page: what the server counted in the stored text, replaced by what is
    // marked once the page is drawn (pdf.js may split a word the extractor kept whole). A
    // page that matched in its stored text but has nothing to mark (a scanned page read
    // by OCR) stays one stop, so stepping still brings the user there.
    this.counts = new Map();
    this.words = new Map();
    for (const page of pages) {
      if (page.page >= 1 && page.page <= pdf.numPages) {
        this.counts.set(page.page, Math.max(page.count, 1));
        this.words.set(page.page, page.words);
      }
    }
    this.pageNumber = 0;
    this.current = null; // {page, index} of the selected match
    this.marks = [];
    this.renderId = 0;
    this.renderTask = null;
    this.textLayer = null;
    this.drawnWidth = 0;
  }

  bind() {
    const { ui } = this;
    say(ui.pageCount, format(this.messages.msgPageCount, { count: this.pdf.numPages }));
    ui.pageInput.max = String(this.pdf.numPages);
    ui.previousPage.addEventListener("click", () => this.show(this.pageNumber - 1));
    ui.nextPage.addEventListener("click", () => this.show(this.pageNumber + 1));
    ui.pageForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const wanted = Number.parseInt(ui.pageInput.value, 10);
      if (Number.isInteger(wanted)) this.show(wanted);
      else ui.pageInput.value = String(this.pageNumber);
    });
    ui.previousMatch?.addEventListener("click", () => this.step(-1));
    ui.nextMatch?.addEventListener("click", () => this.step(1));
    let resizing = null;
    window.addEventListener("resize", () => {
      clearTimeout(resizing);
      resizing = setTimeout(() => {
        if (Math.abs(this.availableWidth() - this.drawnWidth) > 8) {
          this.show(this.pageNumber, { match: this.current?.page === this.pageNumber ? this.current.index : null });
        }
      }, 200);
    });
  }

  get total() {
    let total = 0;
    for (const count of this.counts.values()) total += count;
    return total;
  }

  ordinal(page, index) {
    let before = 0;
    for (const [number, count] of this.counts) if (number < page) before += count;
    return before + index + 1;
  }

  availableWidth() {
    const area = this.ui.pages.parentElement;
    const style = getComputedStyle(area);
    return area.clientWidth - Number.parseFloat(style.paddingLeft) - Number.parseFloat(style.paddingRight) - 2;
  }

  // Draw page `number` (clamped) and select a match on it: "first", "last", an index, or
  // null for none.
  async show(number, { match = null } = {}) {
    const pageNumber = Math.min(Math.max(number, 1), this.pdf.numPages);
    const renderId = ++this.renderId;
    this.renderTask?.cancel();
    this.textLayer?.cancel();
    const page = await this.pdf.getPage(pageNumber);
    if (renderId !== this.renderId) return;

    const width = this.availableWidth();
    const unscaled = page.getViewport({ scale: 1 });
    const scale = Math.min(Math.max(width / unscaled.width, MIN_SCALE), MAX_SCALE);
    const viewport = page.getViewport({ scale });
    const outputScale = window.devicePixelRatio || 1;

    const pageDiv = document.createElement("div");
    pageDiv.className = "page";
    pageDiv.setAttribute("role", "region");
    pageDiv.setAttribute("aria-label", format(this.messages.msgPageLabel, { page: pageNumber, count: this.pdf.numPages }));
    pageDiv.style.setProperty("--user-unit", viewport.userUnit || 1);
    this.pdfjs.setLayerDimensions(pageDiv, viewport, true, false);
    const canvasWrapper = document.createElement("div");
    canvasWrapper.className = "canvasWrapper";
    const canvas = document.createElement("canvas");
    canvas.setAttribute("aria-hidden", "true"); // the text layer carries the text
    canvas.width = Math.floor(viewport.width * outputScale);
    canvas.height = Math.floor(viewport.height * outputScale);
    canvasWrapper.append(canvas);
    const textDiv = document.createElement("div");
    textDiv.className = "textLayer";
    pageDiv.append(canvasWrapper, textDiv);

    this.renderTask = page.render({
      canvas,
      viewport,
      transform: outputScale !== 1 ? [outputScale, 0, 0, outputScale, 0, 0] : null,
    });
    this.textLayer = new this.pdfjs.TextLayer({ textContentSource: page.streamTextContent(), container: textDiv, viewport });
    try {
      await Promise.all([this.renderTask.promise, this.textLayer.render()]);
    } catch (error) {
      if (renderId !== this.renderId) return; // replaced by a newer page: not an error
      throw error;
    }
    if (renderId !== this.renderId) return;

    this.ui.pages.style.setProperty("--scale-factor", viewport.scale);
    this.ui.pages.replaceChildren(pageDiv);
    this.drawnWidth = width;
    this.pageNumber = pageNumber;
    this.marks = markWords(this.textLayer.textDivs, this.words.get(pageNumber) || []);
    if (this.counts.has(pageNumber)) this.counts.set(pageNumber, Math.max(this.marks.length, 1));
    this.updatePage();

    const count = this.counts.get(pageNumber) || 0;
    if (match === null || count === 0) {
      this.current = null;
    } else {
      const index = match === "first" ? 0 : match === "last" ? count - 1 : Math.min(match, count - 1);
      this.current = { page: pageNumber, index };
    }
    this.updateMatch();
  }

  // Move to the next (+1) or previous (-1) match, across pages, round from the end.
  step(direction) {
    const pages = [...this.counts.keys()].sort((a, b) => a - b);
    if (pages.length === 0) return;
    const here = this.pageNumber;
    const count = this.counts.get(here) || 0;
    const current = this.current?.page === here ? this.current.index : null;
    if (direction > 0) {
      if (current === null && count > 0) return this.select(0);
      if (current !== null && current + 1 < count) return this.select(current + 1);
      const next = pages.find((page) => page > here) ?? pages[0];
      return this.show(next, { match: "first" });
    }
    if (current !== null && current > 0) return this.select(current - 1);
    const previous = pages.filter((page) => page < here).pop() ?? pages[pages.length - 1];
    return this.show(previous, { match: "last" });
  }

  select(index) {
    this.current = { page: this.pageNumber, index };
    this.updateMatch();
  }

  updatePage() {
    const { ui, pageNumber } = this;
    ui.pageInput.value = String(pageNumber);
    ui.previousPage.disabled = pageNumber <= 1;
    ui.nextPage.disabled = pageNumber >= this.pdf.numPages;
    const url = new URL(window.location.href);
    url.searchParams.set("side", String(pageNumber));
    window.history.replaceState(null, "", url);
  }

  updateMatch() {
    for (const mark of this.marks) mark.classList.remove("selected");
    if (!this.searching) return;
    const total = this.total;
    this.ui.previousMatch.disabled = this.ui.nextMatch.disabled = total === 0;
    if (total === 0) {
      say(this.ui.matchStatus, this.messages.msgNone);
      return;
    }
    if (this.current === null) {
      say(this.ui.matchStatus, format(this.messages.msgTotal, { total }));
      return;
    }
    const values = { n: this.ordinal(this.current.page, this.current.index), total };
    const mark = this.marks[this.current.index];
    if (!mark) {
      say(this.ui.matchStatus, format(this.messages.msgMatchUnmarked, values));
      return;
    }
    mark.classList.add("selected");
    mark.scrollIntoView({ block: "center", inline: "nearest" });
    say(this.ui.matchStatus, format(this.messages.msgMatch, values));
  }
}

// Wrap each whole-word occurrence of `words` in the text layer's spans in a <mark>; the
// marks in the order they appear.
function markWords(textDivs, words) {
  if (words.length === 0) return [];
  const escaped = [...words].sort((a, b) => b.length - a.length).map((word) => word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}])(?:${escaped.join("|")})(?![\\p{L}\\p{N}])`, "giu");
  const marks = [];
  for (const div of textDivs) {
    const text = div.textContent;
    const parts = [];
    let last = 0;
    for (const found of text.matchAll(pattern)) {
      parts.push(text.slice(last, found.index));
      const mark = document.createElement("mark");
      mark.className = "highlight appended";
      mark.textContent = found[0];
      parts.push(mark);
      marks.push(mark);
      last = found.index + found[0].length;
    }
    if (parts.length > 0) {
      parts.push(text.slice(last));
      div.replaceChildren(...parts);
    }
  }
  return marks;
}
