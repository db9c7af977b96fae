"""Rendering an approved agreement as a PDF: its sections, the revision hash and the approvals."""

from __future__ import annotations

import io
import re
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from portal.models import Agreement, AgreementApproval, AgreementRevision


def _paragraphs(text: str, style: ParagraphStyle) -> list[Paragraph]:
    """Markdown-ish text as plain paragraphs (list markers kept); everything escaped for reportlab."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text or "") if b.strip()]
    return [Paragraph(escape(block).replace("\n", "<br/>"), style) for block in blocks]


def render_agreement(agreement: Agreement, revision: AgreementRevision, approvals: list[AgreementApproval],
                     party_names: dict[int, str], type_label: str) -> bytes:
    styles = getSampleStyleSheet()
    body, heading = styles["BodyText"], styles["Heading2"]
    small = ParagraphStyle("small", parent=body, fontSize=8, textColor=colors.grey)
    story: list[Any] = [Paragraph(escape(agreement.title), styles["Title"]),
                        Paragraph(escape(type_label), body)]
    parties = ", ".join(party_names[pid] for pid in sorted(agreement.party_ids))
    story.append(Paragraph(escape(f"Parter: {parties}"), body))
    if agreement.term_start or agreement.term_end:
        term = f"{agreement.term_start or '…'} – {agreement.term_end or '…'}"
        story.append(Paragraph(escape(f"Aftaleperiode: {term}"), body))
    story.append(Paragraph(escape(f"Revision {revision.number}, SHA-256 {revision.content_hash}"), small))
    story.append(Spacer(1, 6 * mm))
    for sid in revision.content["order"]:
        section = revision.content["sections"][sid]
        story.append(Paragraph(escape(section["heading"]), heading))
        story.extend(_paragraphs(section.get("text", ""), body))
        data = section.get("data") or {}
        if section.get("kind") == "allocation" and data:
            for key, label in (("share_percent", "Andel af ledige boliger (%)"), ("quota_per_year", "Boliger pr. år")):
                if key in data:
                    story.append(Paragraph(escape(f"{label}: {data[key]}"), body))
        if section.get("kind") == "trappemodel" and data.get("steps"):
            rows = [["Afdeling", "År", "Trin", "Anvisning (%)", "Kriterier"]] + [
                [str(s.get("department", "")), str(s.get("year", "")), str(s.get("step", "")),
                 str(s.get("share_percent", "")), Paragraph(escape(str(s.get("criteria", ""))), body)]
                for s in data["steps"]]
            table = Table(rows, colWidths=[40 * mm, 15 * mm, 15 * mm, 25 * mm, 70 * mm])
            table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                                       ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke)]))
            story.append(table)
    story.append(Spacer(1, 8 * mm))
    story.append(Paragraph("Godkendelser", heading))
    for approval in approvals:
        who = approval.approved_by.name if approval.approved_by else "—"
        story.append(Paragraph(escape(
            f"{party_names.get(approval.party_id, approval.party_id)}: godkendt af {who} "
            f"{approval.approved_at:%d-%m-%Y %H:%M} UTC, revision {approval.revision}, SHA-256 {approval.revision_hash}"), body))
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, title=agreement.title, author="Aftaleportalen",
                      leftMargin=20 * mm, rightMargin=20 * mm, topMargin=20 * mm, bottomMargin=20 * mm).build(story)
    return buffer.getvalue()
