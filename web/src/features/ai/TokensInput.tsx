import { DeleteOutlined, KeyOutlined, PlusOutlined } from '@ant-design/icons';
import { Button, Flex, Input, Typography } from 'antd';
import { maskedToken } from '../../api/types';
import { useI18n } from '../../i18n/context';
import { allMasked } from './providerForm';

interface TokensInputProps {
  value?: string[];
  onChange?: (v: string[]) => void;
  /** The masks of the stored tokens when editing; empty when creating. */
  stored: readonly string[];
}

/**
 * TokensInput edits a provider's tokens, which are write-only: stored ones
 * show only as a count, and "Replace tokens" swaps them for new ones typed
 * in password fields. "Keep the stored tokens" goes back to the masks.
 */
export function TokensInput({ value = [], onChange, stored }: TokensInputProps) {
  const { t } = useI18n();
  const set = (v: string[]) => onChange?.(v);

  if (stored.length > 0 && allMasked(value)) {
    return (
      <Flex gap={8} align="center" wrap data-testid="tokens-stored">
        <KeyOutlined />
        <Typography.Text className="gh-mono">
          {value.map(() => maskedToken.slice(0, 4)).join(' ')}
        </Typography.Text>
        <Typography.Text type="secondary">
          {t('ai.providers.tokensStored', { n: value.length })}
        </Typography.Text>
        <Button size="small" onClick={() => set([''])}>
          {t('ai.providers.replaceTokens')}
        </Button>
      </Flex>
    );
  }

  return (
    <Flex vertical gap={8}>
      {value.map((token, i) => (
        <Flex key={i} gap={8}>
          <Input.Password
            aria-label={t('ai.providers.token', { n: i + 1 })}
            value={token === maskedToken ? '' : token}
            placeholder="sk-…"
            autoComplete="new-password"
            spellCheck={false}
            className="gh-mono"
            onChange={(e) => set(value.map((old, j) => (j === i ? e.target.value : old)))}
          />
          <Button
            type="text"
            icon={<DeleteOutlined />}
            aria-label={t('ai.providers.removeToken', { n: i + 1 })}
            onClick={() => set(value.filter((_, j) => j !== i))}
          />
        </Flex>
      ))}
      <Flex gap={8} wrap>
        <Button icon={<PlusOutlined />} onClick={() => set([...value, ''])}>
          {t('ai.providers.addToken')}
        </Button>
        {stored.length > 0 && (
          <Button type="link" onClick={() => set([...stored])}>
            {t('ai.providers.keepTokens')}
          </Button>
        )}
      </Flex>
      {stored.length > 0 && (
        <Typography.Text type="secondary">{t('ai.providers.keepHint')}</Typography.Text>
      )}
    </Flex>
  );
}
