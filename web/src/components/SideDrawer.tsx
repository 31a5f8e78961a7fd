import { Drawer, Grid } from 'antd';
import type { ReactNode } from 'react';
import { useI18n } from '../i18n/context';

export interface SideDrawerProps {
  title: ReactNode;
  onClose: () => void;
  children: ReactNode;
  /** Width on wide windows; the drawer fills narrow ones. */
  width?: number;
  footer?: ReactNode;
  extra?: ReactNode;
}

/**
 * SideDrawer is the console's drawer beside a list: open while mounted,
 * emptied when closed, full width on narrow windows.
 */
export function SideDrawer({
  title,
  onClose,
  children,
  width = 720,
  footer,
  extra,
}: SideDrawerProps) {
  const { t } = useI18n();
  const screens = Grid.useBreakpoint();
  return (
    <Drawer
      open
      title={title}
      onClose={onClose}
      size={screens.md ? width : '100%'}
      destroyOnHidden
      closable={{ 'aria-label': t('common.close') }}
      footer={footer}
      extra={extra}
    >
      {children}
    </Drawer>
  );
}
