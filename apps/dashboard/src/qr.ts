/** Join links and their QR codes: the run's shared link and every device token's link are drawn the same way. */
import QRCode from 'qrcode';

/**
 * The base of join links: the coordinator's --public-url when it reports one (phones may not
 * reach the address this dashboard was opened at, e.g. 127.0.0.1 or behind a proxy), else this origin.
 */
let joinBase = location.origin;

export function setJoinBase(publicUrl: string | null): void {
  joinBase = publicUrl ?? location.origin;
}

/** The browser client's join link on this coordinator, for the shared token or a device token. */
export function joinLink(runId: string, token: string): string {
  return `${joinBase}/?run=${encodeURIComponent(runId)}&token=${encodeURIComponent(token)}`;
}

export function drawQr(canvas: HTMLCanvasElement, text: string, widthPx: number): Promise<void> {
  return QRCode.toCanvas(canvas, text, { width: widthPx, margin: 1 });
}
