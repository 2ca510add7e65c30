/** Join links and their QR codes: the run's shared link and every device token's link are drawn the same way. */
import QRCode from 'qrcode';

/** The browser client's join link on this coordinator, for the shared token or a device token. */
export function joinLink(runId: string, token: string): string {
  return `${location.origin}/?run=${encodeURIComponent(runId)}&token=${encodeURIComponent(token)}`;
}

export function drawQr(canvas: HTMLCanvasElement, text: string, widthPx: number): Promise<void> {
  return QRCode.toCanvas(canvas, text, { width: widthPx, margin: 1 });
}
